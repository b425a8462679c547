namespace ConsentHub.Data;

/// <summary>
/// An EF Core compiled query (<c>EF.CompileAsyncQuery</c>), compiled once per provider. A compiled query skips what EF
/// Core otherwise does on every call before it finds its cached plan: building the LINQ expression, walking it to extract
/// its parameters, making generic methods (in bench/README's profile of the change write, a fifth of the hub's CPU). One
/// per provider because a compiled query holds the model it was compiled for and compiles again for another: the tests
/// run both providers in one process.
/// </summary>
public sealed class ProviderQuery<TQuery>(Func<TQuery> compile) where TQuery : Delegate
{
    readonly Lazy<TQuery> sqlite = new(compile);
    readonly Lazy<TQuery> postgres = new(compile);

    /// <summary>The query compiled for <paramref name="db"/>'s provider.</summary>
    public TQuery For(ConsentDb db) => db.Provider == DatabaseProvider.Postgres ? postgres.Value : sqlite.Value;
}
