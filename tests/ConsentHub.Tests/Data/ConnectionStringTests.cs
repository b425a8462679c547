using ConsentHub.Data;
using Npgsql;

namespace ConsentHub.Tests.Data;

/// <summary>What the hub adds to a PostgreSQL connection string, and what it leaves as the operator wrote it.</summary>
public sealed class ConnectionStringTests
{
    [Fact]
    public void Statements_are_prepared_automatically_unless_the_connection_string_says_otherwise()
    {
        var added = new NpgsqlConnectionStringBuilder(DataServices.PostgresConnectionString("Host=db;Username=hub"));
        Assert.Equal(DataServices.DefaultMaxAutoPrepare, added.MaxAutoPrepare);
        Assert.True(added.NoResetOnClose);

        // Behind PgBouncer in transaction mode an operator turns preparation off; either spelling of the key is kept.
        Assert.Equal(0, new NpgsqlConnectionStringBuilder(DataServices.PostgresConnectionString("Host=db;Max Auto Prepare=0")).MaxAutoPrepare);
        Assert.Equal(5, new NpgsqlConnectionStringBuilder(DataServices.PostgresConnectionString("Host=db;maxautoprepare=5")).MaxAutoPrepare);
    }
}
