using Iwrs.Storage.Tables;
using Iwrs.Testing;

namespace Iwrs.Storage.Tests.Tables;

/// <summary>Single-entity operations against Azurite; every test has its own table.</summary>
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
    public async Task CreateIfNotExists_CalledTwice_TrueThenFalse()
    {
        var table = TestClients.Azurite().GetTableClient(AzuriteServer.UniqueTableName());

        Assert.True(await table.CreateIfNotExistsAsync());
        Assert.False(await table.CreateIfNotExistsAsync());
    }

    [Fact]
    public async Task Ping_AzuriteRunning_Completes()
    {
        await TestClients.Azurite().PingAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Ping_ClosedPort_ThrowsStorageUnavailable()
    {
        var account = TableStorageAccount.Parse($"TableEndpoint=http://127.0.0.1:{AzuriteServer.FreePort()}/devstoreaccount1");
        using var http = new HttpClient();
        var service = new TableServiceClient(account, http, TimeProvider.System, TestClients.FastRetries(maxRetries: 2));

        var ex = await Assert.ThrowsAsync<StorageUnavailableException>(() => service.PingAsync(CancellationToken.None));

        Assert.Null(ex.Status);
        Assert.IsType<HttpRequestException>(ex.InnerException);
    }

    [Fact]
    public async Task Insert_Duplicate_Throws409EntityAlreadyExists()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var etag = await table.InsertAsync(new TableEntity("p", "r").Set("Name", "first"));
        Assert.False(string.IsNullOrEmpty(etag));

        var ex = await Assert.ThrowsAsync<TableStorageException>(() => table.InsertAsync(new TableEntity("p", "r").Set("Name", "second")));

        Assert.Equal(409, ex.Status);
        Assert.Equal("EntityAlreadyExists", ex.ErrorCode);
        Assert.Equal("first", (await table.GetEntityAsync("p", "r"))!.GetString("Name"));
    }

    [Fact]
    public async Task GetEntity_Missing_ReturnsNull()
    {
        var table = await TestClients.NewAzuriteTableAsync();

        Assert.Null(await table.GetEntityAsync("p", "nope"));
    }

    [Fact]
    public async Task GetEntity_MissingTable_Throws404TableNotFound()
    {
        var table = TestClients.Azurite().GetTableClient(AzuriteServer.UniqueTableName());

        var ex = await Assert.ThrowsAsync<TableStorageException>(() => table.GetEntityAsync("p", "r"));

        Assert.Equal(404, ex.Status);
        Assert.Equal("TableNotFound", ex.ErrorCode);
    }

    [Fact]
    public async Task GetEntity_AfterInsert_ReturnsETagAndTimestamp()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var etag = await table.InsertAsync(new TableEntity("p", "r").Set("N", 1));

        var read = await table.GetEntityAsync("p", "r");

        Assert.NotNull(read);
        Assert.Equal(etag, read.ETag);
        Assert.NotNull(read.Timestamp);
        Assert.Equal("p", read.PartitionKey);
        Assert.Equal("r", read.RowKey);
    }

    [Fact]
    public async Task Upsert_ReplaceThenMerge_ReplaceDropsAndMergeKeepsOtherProperties()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await table.UpsertAsync(new TableEntity("p", "r").Set("A", "a1").Set("B", "b1"), TableUpdateMode.Replace);

        await table.UpsertAsync(new TableEntity("p", "r").Set("A", "a2"), TableUpdateMode.Replace);
        var afterReplace = await table.GetEntityAsync("p", "r");
        await table.UpsertAsync(new TableEntity("p", "r").Set("C", "c3"), TableUpdateMode.Merge);
        var afterMerge = await table.GetEntityAsync("p", "r");

        Assert.Equal("a2", afterReplace!.GetString("A"));
        Assert.False(afterReplace.ContainsKey("B"));
        Assert.Equal("a2", afterMerge!.GetString("A"));
        Assert.Equal("c3", afterMerge.GetString("C"));
    }

    [Fact]
    public async Task Upsert_Missing_Inserts()
    {
        var table = await TestClients.NewAzuriteTableAsync();

        var etag = await table.UpsertAsync(new TableEntity("p", "new").Set("A", 1), TableUpdateMode.Merge);

        Assert.Equal(etag, (await table.GetEntityAsync("p", "new"))!.ETag);
    }

    [Fact]
    public async Task Update_CurrentETag_SucceedsAndReturnsNewETag()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var first = await table.InsertAsync(new TableEntity("p", "r").Set("V", 1));

        var second = await table.UpdateAsync(new TableEntity("p", "r").Set("V", 2), new TableETag(first), TableUpdateMode.Replace);

        Assert.NotEqual(first, second);
        var read = await table.GetEntityAsync("p", "r");
        Assert.Equal(2, read!.GetInt32("V"));
        Assert.Equal(second, read.ETag);
    }

    [Theory]
    [InlineData(TableUpdateMode.Replace)]
    [InlineData(TableUpdateMode.Merge)]
    public async Task Update_StaleETag_Throws412AndLeavesRowAlone(TableUpdateMode mode)
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var stale = await table.InsertAsync(new TableEntity("p", "r").Set("V", 1));
        await table.UpdateAsync(new TableEntity("p", "r").Set("V", 2), new TableETag(stale), TableUpdateMode.Replace);

        var ex = await Assert.ThrowsAsync<TableStorageException>(
            () => table.UpdateAsync(new TableEntity("p", "r").Set("V", 3), new TableETag(stale), mode));

        Assert.Equal(412, ex.Status);
        Assert.Equal("UpdateConditionNotSatisfied", ex.ErrorCode);
        Assert.Equal(2, (await table.GetEntityAsync("p", "r"))!.GetInt32("V"));
    }

    [Fact]
    public async Task Update_AllETagOnMissingEntity_Throws404()
    {
        var table = await TestClients.NewAzuriteTableAsync();

        var ex = await Assert.ThrowsAsync<TableStorageException>(
            () => table.UpdateAsync(new TableEntity("p", "missing"), TableETag.All, TableUpdateMode.Merge));

        Assert.Equal(404, ex.Status);
    }

    [Fact]
    public async Task Update_AllETag_OverwritesWhateverIsStored()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await table.InsertAsync(new TableEntity("p", "r").Set("V", 1));

        await table.UpdateAsync(new TableEntity("p", "r").Set("V", 9), TableETag.All, TableUpdateMode.Replace);

        Assert.Equal(9, (await table.GetEntityAsync("p", "r"))!.GetInt32("V"));
    }

    [Fact]
    public async Task Delete_StaleETag_Throws412AndKeepsRow()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var stale = await table.InsertAsync(new TableEntity("p", "r").Set("V", 1));
        await table.UpsertAsync(new TableEntity("p", "r").Set("V", 2), TableUpdateMode.Replace);

        var ex = await Assert.ThrowsAsync<TableStorageException>(() => table.DeleteAsync("p", "r", new TableETag(stale)));

        Assert.Equal(412, ex.Status);
        Assert.NotNull(await table.GetEntityAsync("p", "r"));
    }

    [Fact]
    public async Task Delete_CurrentETag_TrueAndGone()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var etag = await table.InsertAsync(new TableEntity("p", "r"));

        Assert.True(await table.DeleteAsync("p", "r", new TableETag(etag)));
        Assert.Null(await table.GetEntityAsync("p", "r"));
    }

    [Fact]
    public async Task Delete_Missing_ReturnsFalse()
    {
        var table = await TestClients.NewAzuriteTableAsync();

        Assert.False(await table.DeleteAsync("p", "missing", TableETag.All));
    }

    [Fact]
    public async Task Properties_EveryType_RoundTrip()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var when = new DateTimeOffset(2024, 2, 29, 23, 59, 58, TimeSpan.FromHours(2)).AddTicks(1234567);
        var guid = Guid.Parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301");
        var bytes = new byte[] { 0, 1, 2, 254, 255, 0x7f };
        const long big = (1L << 53) + 1; // not representable as a double: proves Int64 does not travel as a JSON number
        var entity = new TableEntity("p", "types")
            .Set("Text", "héllo \"world\"\n'quoted'")
            .Set("Empty", string.Empty)
            .Set("Flag", true)
            .Set("Int", int.MinValue)
            .Set("Long", big)
            .Set("LongMin", long.MinValue)
            .Set("Double", 3.14159)
            .Set("WholeDouble", 2.0)
            .Set("NaN", double.NaN)
            .Set("When", when)
            .Set("Id", guid)
            .Set("Bytes", bytes);

        var etag = await table.InsertAsync(entity);
        var read = await table.GetEntityAsync("p", "types");
        var queried = Assert.Single(await ToListAsync(table.QueryAsync(TableFilter.PartitionKeyEquals("p"))));

        foreach (var e in new[] { read!, queried })
        {
            Assert.Equal("héllo \"world\"\n'quoted'", e.GetString("Text"));
            Assert.Equal(string.Empty, e.GetString("Empty"));
            Assert.True(e.GetBoolean("Flag"));
            Assert.Equal(int.MinValue, e.GetInt32("Int"));
            Assert.Equal(big, e.GetInt64("Long"));
            Assert.Equal(long.MinValue, e.GetInt64("LongMin"));
            Assert.Equal(3.14159, e.GetDouble("Double"));
            Assert.Equal(2.0, e.GetDouble("WholeDouble"));
            Assert.IsType<double>(e["WholeDouble"]);
            Assert.True(double.IsNaN(e.GetDouble("NaN")!.Value));
            Assert.Equal(when, e.GetDateTimeOffset("When"));
            Assert.Equal(TimeSpan.Zero, e.GetDateTimeOffset("When")!.Value.Offset);
            Assert.Equal(guid, e.GetGuid("Id"));
            Assert.Equal(bytes, e.GetBinary("Bytes"));
            Assert.Equal(etag, e.ETag);
        }
    }

    [Fact]
    public async Task GetEntity_WithSelect_ReturnsOnlySelectedPropertiesAndKeys()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await table.InsertAsync(new TableEntity("p", "r").Set("A", 1).Set("B", 2).Set("C", 3));

        var read = await table.GetEntityAsync("p", "r", ["B"]);

        Assert.Equal(2, read!.GetInt32("B"));
        Assert.False(read.ContainsKey("A"));
        Assert.False(read.ContainsKey("C"));
        Assert.Equal("p", read.PartitionKey);
        Assert.Equal("r", read.RowKey);
    }

    [Theory]
    [MemberData(nameof(AwkwardKeys))]
    public async Task AwkwardKeys_InsertGetQueryUpdateDelete_RoundTrip(string pk, string rk)
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await table.InsertAsync(new TableEntity(pk, "other").Set("V", 0));

        var etag = await table.InsertAsync(new TableEntity(pk, rk).Set("V", 1));
        var read = await table.GetEntityAsync(pk, rk);
        var queried = await ToListAsync(table.QueryAsync(
            TableFilter.Create($"PartitionKey eq {pk} and RowKey eq {rk}")));
        var updated = await table.UpdateAsync(new TableEntity(pk, rk).Set("V", 2), new TableETag(etag), TableUpdateMode.Merge);
        var afterUpdate = await table.GetEntityAsync(pk, rk);
        var deleted = await table.DeleteAsync(pk, rk, new TableETag(updated));

        Assert.Equal(pk, read!.PartitionKey);
        Assert.Equal(rk, read.RowKey);
        var only = Assert.Single(queried);
        Assert.Equal(rk, only.RowKey);
        Assert.Equal(2, afterUpdate!.GetInt32("V"));
        Assert.True(deleted);
        Assert.Null(await table.GetEntityAsync(pk, rk));
        Assert.NotNull(await table.GetEntityAsync(pk, "other"));
    }

    internal static async Task<List<TableEntity>> ToListAsync(IAsyncEnumerable<TableEntity> source)
    {
        var list = new List<TableEntity>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }
}
