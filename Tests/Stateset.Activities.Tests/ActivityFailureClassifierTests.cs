using Npgsql;
using Stateset.Activities.Orders;
using Stateset.Testing;
using Stateset.Workflows.Activities;
using Temporalio.Exceptions;

namespace Stateset.Activities.Tests;

[Collection(PostgresCollection.Name)]
public sealed class ActivityFailureClassifierTests(PostgresFixture postgres) : IAsyncLifetime
{
    private CommerceDatabase _db = null!;

    public async Task InitializeAsync() => _db = await CommerceDatabase.CreateAsync(postgres);

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task PlaceOrder_NulCharacterInTheAddress_IsANonRetryableDataErrorNamingTheSqlState()
    {
        var orders = new OrderActivities(_db.DataSource);
        var address = new PostalAddress("Ava\u0000Martin", "1600 Amphitheatre Pkwy", null, "Mountain View", "CA", "94043", "US");

        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => Attempts.RunAsync(() => orders.PlaceOrderAsync(
            new PlaceOrderInput("o-nul", "cus-ava", "USD", [new OrderLine("TENT-2P", 1)], address))));

        var failure = ActivityFailureClassifier.Classify(thrown);
        Assert.NotNull(failure);
        Assert.True(failure.NonRetryable);
        Assert.Equal(ActivityFailureClassifier.DataErrorType, failure.ErrorType);
        Assert.Contains("22P05", failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM orders WHERE id = 'o-nul'"));
    }

    [Theory]
    [InlineData("UPDATE returns SET updated_at = now(), updated_at = now()", "42601")] // the returns bug of issue 10
    [InlineData("SELECT no_such_column FROM orders", "42703")]
    [InlineData("SELECT 1 / 0", "22012")]
    [InlineData("INSERT INTO orders (id) VALUES ('o-x')", "23502")]
    public async Task RealPostgresDataAndProgrammingErrors_AreNonRetryable(string sql, string sqlState)
    {
        var thrown = await Assert.ThrowsAsync<PostgresException>(() => _db.ExecuteAsync(sql));

        var failure = ActivityFailureClassifier.Classify(thrown);

        Assert.Equal(sqlState, thrown.SqlState);
        Assert.NotNull(failure);
        Assert.True(failure.NonRetryable);
        Assert.Contains(sqlState, failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(PostgresErrorCodes.SerializationFailure)]
    [InlineData(PostgresErrorCodes.DeadlockDetected)]
    [InlineData(PostgresErrorCodes.UniqueViolation)]
    [InlineData(PostgresErrorCodes.AdminShutdown)]
    [InlineData(PostgresErrorCodes.TooManyConnections)]
    public void TransientPostgresErrors_StayRetryable(string sqlState) =>
        Assert.Null(ActivityFailureClassifier.Classify(new PostgresException("transient", "ERROR", "ERROR", sqlState)));

    [Fact]
    public async Task DatabaseUnreachable_StaysRetryable()
    {
        await using var nowhere = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Timeout=2");

        var thrown = await Assert.ThrowsAnyAsync<NpgsqlException>(async () => await nowhere.OpenConnectionAsync());

        Assert.Null(ActivityFailureClassifier.Classify(thrown));
    }

    [Fact]
    public void ProgrammingErrorsAreNonRetryable_WhileTimeoutsCancellationsAndBusinessFailuresKeepTheirOwnRetryability()
    {
        Assert.True(ActivityFailureClassifier.Classify(new ArgumentNullException("input"))!.NonRetryable);
        Assert.Equal(ActivityFailureClassifier.ProgrammingErrorType, ActivityFailureClassifier.Classify(new NullReferenceException())!.ErrorType);
        Assert.Null(ActivityFailureClassifier.Classify(new TimeoutException()));
        Assert.Null(ActivityFailureClassifier.Classify(new OperationCanceledException()));
        Assert.Null(ActivityFailureClassifier.Classify(new HttpRequestException("provider down")));
        Assert.Null(ActivityFailureClassifier.Classify(new ApplicationFailureException("carriers down", "CarriersUnavailable")));
    }
}
