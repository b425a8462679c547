using System.Reflection;
using System.Reflection.Emit;
using Xunit.Abstractions;

namespace ConsentHub.Tests.Hosting;

/// <summary>
/// Which feature folders (the namespaces under ConsentHub) use which, read from the compiled assembly: signatures,
/// fields, attributes and every type, method and field a method body names. Issue 20 asks for no cycle between feature
/// folders: the write pipeline is in Consents, and the features that react to a change (Clusters, OptOut, Validation,
/// Propagation, Outbound) plug into it (<c>IChangeReaction</c>) instead of being driven from it.
/// </summary>
/// <remarks>
/// How the cycles went (issue 20, 2026-12-04): fourteen folders reached each other when this test was first written, as
/// a ratchet. Hosting, Ledger, Rights, Inbound and Extracts left first; then Tenancy (its admin API, which issues
/// credentials, moved to Admin, above Auth), Auth (the cluster feed is a client of an organisation, in Tenancy; the seed
/// problem writer and the public address are Hosting's); then the consent core (the pipeline's reactions, and the HTTP
/// API that reads across features moved to Subscriptions).
/// </remarks>
public sealed class FeatureDependencyTests(ITestOutputHelper output)
{
    [Fact]
    public void No_feature_folder_depends_on_another_in_a_cycle()
    {
        var assembly = typeof(ConsentHub.Data.ConsentDb).Assembly;
        var graph = Graph(assembly);
        foreach (var (from, to) in graph.OrderBy(e => e.Key))
            output.WriteLine($"{from} -> {string.Join(", ", to.Order())}");
        var cycles = StronglyConnected(graph).Where(c => c.Count > 1).Select(c => c.ToHashSet()).ToList();
        foreach (var cycle in cycles)
        {
            // Which types make each edge of the cycle: where to look to break it.
            output.WriteLine($"cycle: {string.Join(" ", cycle.Order(StringComparer.Ordinal))}");
            foreach (var type in assembly.GetTypes().Where(t => t.DeclaringType is null && Folder(t) is { } f && cycle.Contains(f)))
                foreach (var used in Referenced(type).Where(u => Folder(u) is { } to && to != Folder(type) && cycle.Contains(to)).Select(Outermost).Distinct())
                    output.WriteLine($"  {Folder(type)}.{type.Name} -> {Folder(used)}.{used.Name}");
        }
        Assert.Empty(cycles);
    }

    static Type Outermost(Type type)
    {
        while (type.DeclaringType is { } outer) type = outer;
        return type;
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
        type = Outermost(type);
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
