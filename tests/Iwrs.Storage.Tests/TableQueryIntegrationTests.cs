using Iwrs.Storage.Tables;

namespace Iwrs.Storage.Tests.Tables;

/// <summary>Queries against Azurite: filters, $select, $top and paging across continuations.</summary>
[Trait("Category", "Integration")]
public sealed class TableQueryIntegrationTests
{
    [Fact]
    public async Task QueryAsync_MoreThanOnePage_ReturnsEveryRowOnce()
    {
        const int rows = 1250;
        var table = await TestClients.NewAzuriteTableAsync();
        foreach (var chunk in Enumerable.Range(0, rows).Chunk(TableBatch.MaxActions))
        {
            await table.SubmitTransactionAsync(chunk
                .Select(i => new TableTransactionAction(TableTransactionActionType.Insert, new TableEntity("p", $"r{i:D5}").Set("I", i)))
                .ToList());
        }

        var firstPage = await table.QueryPageAsync(TableFilter.PartitionKeyEquals("p"));
        var all = await TableClientIntegrationTests.ToListAsync(table.QueryAsync(TableFilter.PartitionKeyEquals("p")));

        Assert.Equal(TableClient.MaxPageSize, firstPage.Items.Count);
        Assert.NotNull(firstPage.Continuation);
        Assert.Equal(rows, all.Count);
        Assert.Equal(Enumerable.Range(0, rows), all.Select(e => e.GetInt32("I")!.Value).Order());
        Assert.Equal(rows, all.Select(e => e.RowKey).Distinct().Count());
        Assert.All(all, e => Assert.NotNull(e.ETag));
    }

    [Fact]
    public async Task QueryPageAsync_FollowingContinuation_ReachesTheRest()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await InsertRowsAsync(table, "p", 5);

        var first = await table.QueryPageAsync(TableFilter.PartitionKeyEquals("p"), top: 3);
        var second = await table.QueryPageAsync(TableFilter.PartitionKeyEquals("p"), top: 3, continuation: first.Continuation);

        Assert.Equal(["r0", "r1", "r2"], first.Items.Select(e => e.RowKey));
        Assert.NotNull(first.Continuation);
        Assert.Equal(["r3", "r4"], second.Items.Select(e => e.RowKey));
        Assert.Null(second.Continuation);
    }

    [Fact]
    public async Task QueryAsync_MaxResults_StopsThere()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await InsertRowsAsync(table, "p", 7);

        var some = await TableClientIntegrationTests.ToListAsync(table.QueryAsync(TableFilter.PartitionKeyEquals("p"), maxResults: 4));

        Assert.Equal(["r0", "r1", "r2", "r3"], some.Select(e => e.RowKey));
    }

    [Fact]
    public async Task QueryPageAsync_SelectAndTop_ReturnsOnlySelectedAndAtMostTop()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        for (var i = 0; i < 4; i++)
        {
            await table.InsertAsync(new TableEntity("p", $"r{i}").Set("A", i).Set("B", "b").Set("C", true));
        }

        var page = await table.QueryPageAsync(TableFilter.PartitionKeyEquals("p"), select: ["A"], top: 2);

        Assert.Equal(2, page.Items.Count);
        Assert.All(page.Items, e =>
        {
            Assert.True(e.ContainsKey("A"));
            Assert.False(e.ContainsKey("B"));
            Assert.False(e.ContainsKey("C"));
            Assert.Equal("p", e.PartitionKey);
            Assert.NotNull(e.ETag);
        });
        Assert.NotNull(page.Continuation);
    }

    [Fact]
    public async Task QueryAsync_RowKeyPrefix_ReturnsOnlyThatPrefixInThatPartition()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        foreach (var (pk, rk) in new[] { ("p", "kit|001"), ("p", "kit|002"), ("p", "kiu"), ("p", "kit"), ("p", "subject|1"), ("q", "kit|003") })
        {
            await table.InsertAsync(new TableEntity(pk, rk));
        }

        var kits = await TableClientIntegrationTests.ToListAsync(table.QueryAsync(TableFilter.RowKeyPrefix("p", "kit|")));

        Assert.Equal(["kit|001", "kit|002"], kits.Select(e => e.RowKey));
    }

    [Fact]
    public async Task QueryAsync_TypedFilters_MatchStoredValues()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var when = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var id = Guid.NewGuid();
        await table.InsertAsync(new TableEntity("p", "hit").Set("L", 1L << 40).Set("W", when).Set("G", id).Set("D", 2.5).Set("B", true).Set("Bin", new byte[] { 1, 2 }));
        await table.InsertAsync(new TableEntity("p", "miss").Set("L", 5L).Set("W", when.AddDays(-1)).Set("G", Guid.NewGuid()).Set("D", 1.0).Set("B", false).Set("Bin", new byte[] { 3 }));

        async Task<string> OnlyAsync(TableFilter f) =>
            Assert.Single(await TableClientIntegrationTests.ToListAsync(table.QueryAsync(TableFilter.PartitionKeyEquals("p").And(f)))).RowKey;

        Assert.Equal("hit", await OnlyAsync(TableFilter.Create($"L gt {1L << 39}")));
        Assert.Equal("hit", await OnlyAsync(TableFilter.Create($"W ge {when}")));
        Assert.Equal("hit", await OnlyAsync(TableFilter.Create($"G eq {id}")));
        Assert.Equal("hit", await OnlyAsync(TableFilter.Create($"D gt {2.0}")));
        Assert.Equal("hit", await OnlyAsync(TableFilter.Create($"B eq {true}")));
        Assert.Equal("hit", await OnlyAsync(TableFilter.Create($"Bin eq {new byte[] { 1, 2 }}")));
    }

    [Fact]
    public async Task QueryAsync_InjectionAttempt_MatchesNothing()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await table.InsertAsync(new TableEntity("p", "r"));
        const string hostile = "' or true or '";

        var rows = await TableClientIntegrationTests.ToListAsync(table.QueryAsync(TableFilter.Create($"PartitionKey eq {hostile}")));

        Assert.Empty(rows);
    }

    [Fact]
    public async Task QueryAsync_EmptyFilter_ReturnsWholeTable()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await table.InsertAsync(new TableEntity("p", "r"));
        await table.InsertAsync(new TableEntity("q", "r"));

        Assert.Equal(2, (await TableClientIntegrationTests.ToListAsync(table.QueryAsync(filter: null))).Count);
    }

    private static async Task InsertRowsAsync(TableClient table, string pk, int count)
    {
        await table.SubmitTransactionAsync(Enumerable.Range(0, count)
            .Select(i => new TableTransactionAction(TableTransactionActionType.Insert, new TableEntity(pk, $"r{i}")))
            .ToList());
    }
}
