namespace ConsentHub.Data;

/// <summary>
/// New rows of a large unit of work held as plain objects instead of being tracked by the context: EF Core's tracking
/// of thousands of added entities (its graph walk, identity map and snapshots) cost more than writing them. Rows go
/// in through <see cref="ConsentDb.Insert{T}"/> while the buffer is open, are read back through
/// <see cref="ConsentDb.Staged{T}"/>, and are written by <see cref="CopyInsert.WriteAddedAsync"/> in the unit's
/// transaction. Disposing it (the unit ended or failed) drops what was not written and closes it.
/// </summary>
public sealed class InsertBuffer : IDisposable
{
    readonly ConsentDb db;
    readonly Dictionary<Type, List<object>> rows = [];

    internal InsertBuffer(ConsentDb db) => this.db = db;

    internal void Add(object row)
    {
        if (!rows.TryGetValue(row.GetType(), out var list)) rows[row.GetType()] = list = [];
        list.Add(row);
    }

    internal IEnumerable<T> Of<T>() where T : class =>
        rows.TryGetValue(typeof(T), out var list) ? list.Cast<T>() : [];

    /// <summary>Every buffered row by its type, emptying the buffer: they are being written.</summary>
    internal Dictionary<Type, List<object>> Take()
    {
        var taken = new Dictionary<Type, List<object>>(rows);
        rows.Clear();
        return taken;
    }

    public void Dispose()
    {
        rows.Clear();
        db.CloseInsertBuffer(this);
    }
}
