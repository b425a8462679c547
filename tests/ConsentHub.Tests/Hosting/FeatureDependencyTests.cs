using System.Reflection;
using System.Reflection.Emit;
using Xunit.Abstractions;

namespace ConsentHub.Tests.Hosting;

/// <summary>
/// Which feature folders (the namespaces under ConsentHub) use which, read from the compiled assembly: signatures,
/// fields, attributes and every type, method and field a method body names. Issue 20 asks for no cycle between feature
/// folders. Until the write pipeline lands the hub has cycles; this test is the ratchet: a new cycle, or a new folder
/// joining one, fails it, and so does a cycle that is gone, so that the list below only ever shrinks.
/// </summary>
public sealed class FeatureDependencyTests(ITestOutputHelper output)
{
    /// <summary>
    /// The strongly connected groups of feature folders today (each a set of folders that reach each other). Shrink it as
    /// cycles are broken; never grow it.
    /// </summary>
    static readonly string[][] KnownCycles =
    [
        // Measured when the ratchet was set (issue 20, 2026-12-04): fourteen folders reached each other. OptIn, Reminders and
        // SqlAccess use the core without being used back. Left it the same day: Hosting and Ledger (the validation links'
        // public address moved to Validation; the idempotency hash no longer borrows Auth's), Rights and Inbound (who may
        // act for an organisation moved to Auth.OrganisationAccess), Extracts (the DPO landing page lists the sections
        // features register, IDpoLandingSection, instead of calling them).
        ["Auth", "Bulk", "Clusters", "Consents", "OptOut", "Outbound", "Propagation", "Tenancy", "Validation"],
    ];

    [Fact]
    public void No_feature_folder_joins_a_dependency_cycle_beyond_those_known()
    {
        var graph = Graph(typeof(ConsentHub.Data.ConsentDb).Assembly);
        foreach (var (from, to) in graph.OrderBy(e => e.Key))
            output.WriteLine($"{from} -> {string.Join(", ", to.Order())}");
        var cycles = StronglyConnected(graph).Where(c => c.Count > 1).Select(c => string.Join(" ", c.Order(StringComparer.Ordinal))).Order().ToList();
        foreach (var cycle in cycles) output.WriteLine($"cycle: {cycle}");
        var known = KnownCycles.Select(c => string.Join(" ", c.Order(StringComparer.Ordinal))).Order().ToList();
        Assert.Equal(known, cycles);
    }

    [Fact]
    public void The_reader_sees_a_reference_made_only_inside_a_method_body()
    {
        var used = Referenced(typeof(BodyOnly)).ToHashSet();
        Assert.Contains(typeof(ConsentHub.Ledger.Merkle), used);
        Assert.Contains(typeof(ConsentHub.Propagation.PropagationOptions), used);
        Assert.Contains(typeof(ConsentHub.Consents.Timestamps), used);
    }

    /// <summary>
    /// Names hub types only inside method bodies (a call, an object made in a lambda), never in a signature. (A constant
    /// is copied into the IL as its value, so a reference to a const alone cannot be seen; none is relied on.)
    /// </summary>
    static class BodyOnly
    {
        public static int Count()
        {
            var leaf = ConsentHub.Ledger.Merkle.LeafHash("x"u8);
            Func<int> timeout = () => new ConsentHub.Propagation.PropagationOptions().TimeoutSeconds;
            return leaf.Length + timeout() + (ConsentHub.Consents.Timestamps.TryParse("x", out _) ? 1 : 0);
        }
    }

    /// <summary>Feature folder → the feature folders its types use.</summary>
    static Dictionary<string, HashSet<string>> Graph(Assembly assembly)
    {
        var graph = new Dictionary<string, HashSet<string>>();
        foreach (var type in assembly.GetTypes())
        {
            var from = Folder(type);
            if (from is null) continue;
            var uses = graph.TryGetValue(from, out var set) ? set : graph[from] = [];
            foreach (var used in Referenced(type))
            {
                var to = Folder(used);
                if (to is not null && to != from) uses.Add(to);
            }
        }
        return graph;
    }

    /// <summary>The folder a type of the hub belongs to (a nested or compiler-generated type: its outermost type's), or null.</summary>
    static string? Folder(Type type)
    {
        while (type.DeclaringType is { } outer) type = outer;
        if (type.Assembly != typeof(ConsentHub.Data.ConsentDb).Assembly) return null;
        var ns = type.Namespace ?? "";
        if (!ns.StartsWith("ConsentHub.", StringComparison.Ordinal)) return null;
        var folder = ns["ConsentHub.".Length..].Split('.')[0];
        // Data is the shared kernel, not a feature: ConsentDb declares every feature's tables, so it names every feature
        // by construction, and the shared data helpers (ConflictRetry, RowLocks, ServerKeys) live there for all of them.
        return folder == "Data" ? null : folder;
    }

    const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    static IEnumerable<Type> Referenced(Type type)
    {
        // A lambda's body is a method of a compiler-generated type nested in the declaring one: read those too.
        var types = new[] { type }.Concat(type.GetNestedTypes(All)).ToList();
        return types.SelectMany(DirectlyReferenced).Distinct();
    }

    static IEnumerable<Type> DirectlyReferenced(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null || !found.Add(t)) return;
            if (t.HasElementType) Add(t.GetElementType());
            if (t.IsGenericType && !t.IsGenericTypeDefinition)
            {
                Add(t.GetGenericTypeDefinition());
                foreach (var argument in t.GetGenericArguments()) Add(argument);
            }
        }
        Add(type.BaseType);
        foreach (var i in type.GetInterfaces()) Add(i);
        foreach (var a in type.CustomAttributes) Add(a.AttributeType);
        foreach (var f in type.GetFields(All)) Add(f.FieldType);
        foreach (var p in type.GetProperties(All)) Add(p.PropertyType);
        foreach (var method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (method is MethodInfo info) Add(info.ReturnType);
            foreach (var parameter in method.GetParameters()) Add(parameter.ParameterType);
            foreach (var a in method.CustomAttributes) Add(a.AttributeType);
            foreach (var used in BodyReferences(method)) Add(used);
        }
        return found;
    }

    static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    /// <summary>The types a method body names, through the tokens of its IL (calls, fields, newobj, casts, ldtoken …).</summary>
    static IEnumerable<Type> BodyReferences(MethodBase method)
    {
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is InvalidOperationException or BadImageFormatException) { il = null; }
        if (il is null) yield break;
        var typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var module = method.Module;
        for (var i = 0; i < il.Length;)
        {
            short value = il[i++];
            if (value == 0xFE) value = (short)(0xFE00 | il[i++]);
            if (!OpCodesByValue.TryGetValue(value, out var op)) yield break;
            switch (op.OperandType)
            {
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: i += 1; break;
                case OperandType.InlineVar: i += 2; break;
                case OperandType.InlineI8 or OperandType.InlineR: i += 8; break;
                case OperandType.InlineSwitch: i += 4 + 4 * BitConverter.ToInt32(il, i); break;
                case OperandType.InlineBrTarget or OperandType.InlineI or OperandType.ShortInlineR or OperandType.InlineString or OperandType.InlineSig:
                    i += 4;
                    break;
                default: // InlineField, InlineMethod, InlineTok, InlineType
                    var token = BitConverter.ToInt32(il, i);
                    i += 4;
                    MemberInfo? member = null;
                    try { member = module.ResolveMember(token, typeArguments, methodArguments); }
                    catch (Exception e) when (e is ArgumentException or BadImageFormatException or TypeLoadException or FileNotFoundException) { }
                    switch (member)
                    {
                        case Type t: yield return t; break;
                        case FieldInfo f:
                            if (f.DeclaringType is { } fd) yield return fd;
                            yield return f.FieldType;
                            break;
                        case MethodBase m:
                            if (m.DeclaringType is { } md) yield return md;
                            if (m is MethodInfo { IsGenericMethod: true } g) foreach (var a in g.GetGenericArguments()) yield return a;
                            break;
                    }
                    break;
            }
        }
    }

    /// <summary>Tarjan's strongly connected components.</summary>
    static List<List<string>> StronglyConnected(Dictionary<string, HashSet<string>> graph)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<List<string>>();
        var next = 0;
        void Visit(string v)
        {
            index[v] = low[v] = next++;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in graph.GetValueOrDefault(v) ?? [])
            {
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do { x = stack.Pop(); onStack.Remove(x); component.Add(x); } while (x != v);
            result.Add(component);
        }
        foreach (var v in graph.Keys.Order(StringComparer.Ordinal)) if (!index.ContainsKey(v)) Visit(v);
        return result;
    }
}
