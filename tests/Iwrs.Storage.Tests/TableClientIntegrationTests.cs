using Azure;
using Azure.Data.Tables;
using Iwrs.Storage.Stores;
using Iwrs.Testing;

namespace Iwrs.Storage.Tests;

/// <summary>Single-entity operations of the SDK against Azurite, as the stores use them; every test has its own table.</summary>
[Trait("Category", "Integration")]
public sealed class TableClientIntegrationTests
{
    public static TheoryData<string, string> AwkwardKeys => new()
    {
        { "O'Brien", "it's 'quoted'" },
        { "Zürich", "Genève" },
        { "日本", "東京" },
        { "emoji 🧪", "row 🎲 1" },
        { "with space", "50% + a&b=c ,;:!()*" },
    };

    [Fact]
    public async Task CreateIfNotExists_CalledTwice_CreatesThenAnswers409WithoutThrowing()
    {
        var table = TestClients.Azurite().GetTableClient(AzuriteServer.UniqueTableName());

        var first = await table.CreateIfNotExistsAsync();
        var second = await table.CreateIfNotExistsAsync();

        Assert.NotNull(first.Value);
        Assert.Equal(409, second.GetRawResponse().Status);
    }

    [Fact]
    public async Task Ping_AzuriteRunning_Completes()
    {
        await TestClients.Azurite().PingAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Ping_ClosedPort_IsUnavailableAfterTheSdksRetries()
    {
        using var http = new HttpClient();
        var service = StorageClients.FromConnectionString(
            $"DefaultEndpointsProtocol=http;AccountName={AzuriteServer.AccountName};AccountKey={AzuriteServer.AccountKey};TableEndpoint=http://127.0.0.1:{AzuriteServer.FreePort()}/{AzuriteServer.AccountName};",
            http, TestClients.FastRetries(maxRetries: 2));

        var ex = await Record.ExceptionAsync(() => service.PingAsync(CancellationToken.None));

        Assert.NotNull(ex);
        Assert.True(StorageFailure.IsUnavailable(ex), ex.GetType().Name);
        var attempts = ex is AggregateException a ? a.InnerExceptions : [ex];
        Assert.Equal(3, attempts.Count);
        Assert.All(attempts, e => Assert.Equal(0, Assert.IsType<RequestFailedException>(e).Status));
    }

    [Fact]
    public async Task Ping_ClosedPortWithoutRetries_IsUnavailableStatusZero()
    {
        using var http = new HttpClient();
        var service = StorageClients.FromConnectionString(
            $"TableEndpoint=http://127.0.0.1:{AzuriteServer.FreePort()}/{AzuriteServer.AccountName};AccountName={AzuriteServer.AccountName};AccountKey={AzuriteServer.AccountKey}",
            http, TestClients.FastRetries(maxRetries: 0));

        var ex = await Assert.ThrowsAsync<RequestFailedException>(() => service.PingAsync(CancellationToken.None));

        Assert.Equal(0, ex.Status);
        Assert.True(StorageFailure.IsUnavailable(ex));
    }

    [Fact]
    public async Task Insert_Duplicate_Throws409EntityAlreadyExists()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var added = await table.AddEntityAsync(Rows.New("p", "r").Set("Name", "first"));
        Assert.NotNull(added.Headers.ETag);

        var ex = await Assert.ThrowsAsync<RequestFailedException>(() => table.AddEntityAsync(Rows.New("p", "r").Set("Name", "second")));

        Assert.Equal(409, ex.Status);
        Assert.Equal("EntityAlreadyExists", ex.ErrorCode);
        Assert.False(StorageFailure.IsUnavailable(ex));
        Assert.Equal("first", (await table.GetRowAsync("p", "r"))!.GetString("Name"));
    }

    [Fact]
    public async Task GetRow_Missing_ReturnsNull()
    {
        var table = await TestClients.NewAzuriteTableAsync();

        Assert.Null(await table.GetRowAsync("p", "nope"));
    }

    [Fact]
    public async Task GetRow_AfterInsert_ReturnsETagAndTimestamp()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var etag = (await table.AddEntityAsync(Rows.New("p", "r").Set("N", 1))).Headers.ETag;

        var read = await table.GetRowAsync("p", "r");

        Assert.NotNull(read);
        Assert.Equal(etag, read.ETag);
        Assert.Equal(etag.ToString(), read.Tag());
        Assert.NotNull(read.Timestamp);
        Assert.Equal("p", read.PartitionKey);
        Assert.Equal("r", read.RowKey);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("a#b")]
    [InlineData("a?b")]
    [InlineData("a\u0001b")]
    public async Task Rows_ForbiddenKey_RefusedBeforeAnythingIsSent(string key)
    {
        var table = TestClients.Azurite().GetTableClient("neverused");

        Assert.Throws<ArgumentException>(() => Rows.New("p", key));
        Assert.Throws<ArgumentException>(() => Rows.New(key, "r"));
        await Assert.ThrowsAsync<ArgumentException>(() => table.GetRowAsync("p", key));
        Assert.Throws<ArgumentException>(() => Rows.PrefixFilter(key, "x"));
    }

    [Fact]
    public async Task Set_Null_LeavesThePropertyOut()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await table.AddEntityAsync(Rows.New("p", "r").Set("A", "a").Set("B", null));

        var read = await table.GetRowAsync("p", "r");

        Assert.Equal("a", read!.GetString("A"));
        Assert.False(read.ContainsKey("B"));
    }

    [Fact]
    public async Task Upsert_ReplaceThenMerge_ReplaceDropsAndMergeKeepsOtherProperties()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await table.UpsertEntityAsync(Rows.New("p", "r").Set("A", "a1").Set("B", "b1"), TableUpdateMode.Replace);

        await table.UpsertEntityAsync(Rows.New("p", "r").Set("A", "a2"), TableUpdateMode.Replace);
        var afterReplace = await table.GetRowAsync("p", "r");
        await table.UpsertEntityAsync(Rows.New("p", "r").Set("C", "c3"), TableUpdateMode.Merge);
        var afterMerge = await table.GetRowAsync("p", "r");

        Assert.Equal("a2", afterReplace!.GetString("A"));
        Assert.False(afterReplace.ContainsKey("B"));
        Assert.Equal("a2", afterMerge!.GetString("A"));
        Assert.Equal("c3", afterMerge.GetString("C"));
    }

    [Theory]
    [InlineData(TableUpdateMode.Replace)]
    [InlineData(TableUpdateMode.Merge)]
    public async Task Update_StaleETag_Throws412AndLeavesRowAlone(TableUpdateMode mode)
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var stale = (await table.AddEntityAsync(Rows.New("p", "r").Set("V", 1))).Headers.ETag!.Value;
        var current = (await table.UpdateEntityAsync(Rows.New("p", "r").Set("V", 2), stale, TableUpdateMode.Replace)).Headers.ETag;
        Assert.NotEqual(stale, current);

        var ex = await Assert.ThrowsAsync<RequestFailedException>(
            () => table.UpdateEntityAsync(Rows.New("p", "r").Set("V", 3), stale, mode));

        Assert.Equal(412, ex.Status);
        Assert.Equal("UpdateConditionNotSatisfied", ex.ErrorCode);
        Assert.Equal(2, (await table.GetRowAsync("p", "r"))!.GetInt32("V"));
    }

    [Fact]
    public async Task Update_AllETagOnMissingEntity_Throws404()
    {
        var table = await TestClients.NewAzuriteTableAsync();

        var ex = await Assert.ThrowsAsync<RequestFailedException>(
            () => table.UpdateEntityAsync(Rows.New("p", "missing"), ETag.All, TableUpdateMode.Merge));

        Assert.Equal(404, ex.Status);
    }

    [Fact]
    public async Task Delete_StaleETag_Throws412AndKeepsRow()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var stale = (await table.AddEntityAsync(Rows.New("p", "r").Set("V", 1))).Headers.ETag!.Value;
        await table.UpsertEntityAsync(Rows.New("p", "r").Set("V", 2), TableUpdateMode.Replace);

        var ex = await Assert.ThrowsAsync<RequestFailedException>(() => table.DeleteEntityAsync("p", "r", stale));

        Assert.Equal(412, ex.Status);
        Assert.NotNull(await table.GetRowAsync("p", "r"));
    }

    [Fact]
    public async Task Delete_Missing_Answers404WithoutThrowing()
    {
        var table = await TestClients.NewAzuriteTableAsync();

        var response = await table.DeleteEntityAsync("p", "missing", ETag.All);

        Assert.Equal(404, response.Status);
    }

    [Fact]
    public async Task Properties_EveryType_RoundTripThroughPointReadAndQuery()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var when = new DateTimeOffset(2024, 2, 29, 23, 59, 58, TimeSpan.Zero).AddTicks(1234567);
        var guid = Guid.Parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301");
        var bytes = new byte[] { 0, 1, 2, 254, 255, 0x7f };
        const long big = (1L << 53) + 1; // not representable as a double: proves Int64 does not travel as a JSON number
        var entity = Rows.New("p", "types")
            .Set("Text", "héllo \"world\"\n'quoted'")
            .Set("Empty", string.Empty)
            .Set("Flag", true)
            .Set("Int", int.MinValue)
            .Set("Long", big)
            .Set("Double", 3.14159)
            .Set("When", when)
            .Set("Id", guid)
            .Set("Bytes", bytes);

        var etag = (await table.AddEntityAsync(entity)).Headers.ETag;
        var read = await table.GetRowAsync("p", "types");
        var queried = Assert.Single(await TestClients.ToListAsync(table.QueryPrefixAsync("p", string.Empty)));

        foreach (var e in new[] { read!, queried })
        {
            Assert.Equal("héllo \"world\"\n'quoted'", e.GetString("Text"));
            Assert.Equal(string.Empty, e.GetString("Empty"));
            Assert.True(e.GetBoolean("Flag"));
            Assert.Equal(int.MinValue, e.GetInt32("Int"));
            Assert.Equal(big, e.GetInt64("Long"));
            Assert.Equal(3.14159, e.GetDouble("Double"));
            Assert.Equal(when, e.GetDateTimeOffset("When"));
            Assert.Equal(guid, e.GetGuid("Id"));
            Assert.Equal(bytes, e.GetBinary("Bytes"));

            // Query results carry their ETag (odata.etag), so a row read by a query can be written under If-Match.
            Assert.Equal(etag, e.ETag);
        }
    }

    [Theory]
    [MemberData(nameof(AwkwardKeys))]
    public async Task AwkwardKeys_InsertGetQueryUpdateDelete_RoundTrip(string pk, string rk)
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await table.AddEntityAsync(Rows.New(pk, "other").Set("V", 0));

        await table.AddEntityAsync(Rows.New(pk, rk).Set("V", 1));
        var read = await table.GetRowAsync(pk, rk);
        var queried = await TestClients.ToListAsync(table.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {pk} and RowKey eq {rk}")));
        var prefixed = await TestClients.ToListAsync(table.QueryPrefixAsync(pk, rk));
        var only = Assert.Single(queried);
        var updated = await table.UpdateEntityAsync(Rows.New(pk, rk).Set("V", 2), only.ETag, TableUpdateMode.Merge);
        var afterUpdate = await table.GetRowAsync(pk, rk);
        var deleted = await table.DeleteEntityAsync(pk, rk, updated.Headers.ETag!.Value);

        Assert.Equal(pk, read!.PartitionKey);
        Assert.Equal(rk, read.RowKey);
        Assert.Equal(rk, only.RowKey);
        Assert.Equal(rk, Assert.Single(prefixed).RowKey);
        Assert.Equal(2, afterUpdate!.GetInt32("V"));
        Assert.Equal(204, deleted.Status);
        Assert.Null(await table.GetRowAsync(pk, rk));
        Assert.NotNull(await table.GetRowAsync(pk, "other"));
    }
}
