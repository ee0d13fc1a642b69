using Azure.Data.Tables;
using Iwrs.Storage.Stores;

namespace Iwrs.Storage.Tests;

/// <summary>Queries against Azurite: key ranges, filters built by CreateQueryFilter, $select, page sizes and continuations.</summary>
[Trait("Category", "Integration")]
public sealed class TableQueryIntegrationTests
{
    [Fact]
    public async Task QueryPrefix_MoreThanOnePage_FollowsContinuationsAndReturnsEveryRowOnce()
    {
        const int rows = 1250;
        var table = await TestClients.NewAzuriteTableAsync();
        foreach (var chunk in Enumerable.Range(0, rows).Chunk(StudyChange.MaxActions))
        {
            var change = new StudyChange();
            change.AddRange(chunk.Select(i => new TableTransactionAction(TableTransactionActionType.Add, Rows.New("p", $"r{i:D5}").Set("I", i))));
            await change.SubmitAsync(table, CancellationToken.None);
        }

        var pages = new List<(int Count, string? Continuation)>();
        await foreach (var page in table.QueryPrefixAsync("p", "r").AsPages())
        {
            pages.Add((page.Values.Count, page.ContinuationToken));
        }

        var all = await TestClients.ToListAsync(table.QueryPrefixAsync("p", "r"));

        Assert.True(pages.Count >= 2, $"{pages.Count} page(s)");
        Assert.Equal(Rows.MaxPageSize, pages[0].Count);
        Assert.NotNull(pages[0].Continuation);
        Assert.Null(pages[^1].Continuation);
        Assert.Equal(rows, pages.Sum(p => p.Count));
        Assert.Equal(rows, all.Count);
        Assert.Equal(Enumerable.Range(0, rows), all.Select(e => e.GetInt32("I")!.Value).Order());
        Assert.Equal(rows, all.Select(e => e.RowKey).Distinct().Count());
        Assert.All(all, e => Assert.NotEqual(default, e.ETag));
    }

    [Fact]
    public async Task Query_FollowingAContinuationToken_ReachesTheRest()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await InsertRowsAsync(table, "p", 5);
        var filter = Rows.PrefixFilter("p", "r");

        var first = await FirstPageAsync(table.QueryAsync<TableEntity>(filter, maxPerPage: 3).AsPages());
        var second = await FirstPageAsync(table.QueryAsync<TableEntity>(filter, maxPerPage: 3).AsPages(first.ContinuationToken));

        Assert.Equal(["r0", "r1", "r2"], first.Values.Select(e => e.RowKey));
        Assert.NotNull(first.ContinuationToken);
        Assert.Equal(["r3", "r4"], second.Values.Select(e => e.RowKey));
        Assert.Null(second.ContinuationToken);
    }

    [Fact]
    public async Task First_Count_StopsThereInKeyOrder()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await InsertRowsAsync(table, "p", 7);

        var some = await table.FirstAsync(Rows.PrefixFilter("p", "r"), 4);

        Assert.Equal(["r0", "r1", "r2", "r3"], some.Select(e => e.RowKey));
    }

    [Fact]
    public async Task First_MoreThanAPage_ContinuesUntilEnough()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        foreach (var chunk in Enumerable.Range(0, 1100).Chunk(StudyChange.MaxActions))
        {
            var change = new StudyChange();
            change.AddRange(chunk.Select(i => new TableTransactionAction(TableTransactionActionType.Add, Rows.New("p", $"r{i:D5}"))));
            await change.SubmitAsync(table, CancellationToken.None);
        }

        var some = await table.FirstAsync(Rows.PrefixFilter("p", "r"), 1050);

        Assert.Equal(1050, some.Count);
        Assert.Equal("r01049", some[^1].RowKey);
    }

    [Fact]
    public async Task Query_SelectAndPageSize_ReturnsOnlySelectedAndAtMostThePageSize()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        for (var i = 0; i < 4; i++)
        {
            await table.AddEntityAsync(Rows.New("p", $"r{i}").Set("A", i).Set("B", "b").Set("C", true));
        }

        var page = await FirstPageAsync(table.QueryAsync<TableEntity>(Rows.PrefixFilter("p", string.Empty), maxPerPage: 2, select: ["A"]).AsPages());

        Assert.Equal(2, page.Values.Count);
        Assert.All(page.Values, e =>
        {
            Assert.True(e.ContainsKey("A"));
            Assert.False(e.ContainsKey("B"));
            Assert.False(e.ContainsKey("C"));
            Assert.NotEqual(default, e.ETag);
        });
        Assert.NotNull(page.ContinuationToken);
    }

    [Fact]
    public async Task QueryPrefix_ReturnsOnlyThatPrefixInThatPartition()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        foreach (var (pk, rk) in new[] { ("p", "kit|001"), ("p", "kit|002"), ("p", "kiu"), ("p", "kit"), ("p", "subject|1"), ("q", "kit|003") })
        {
            await table.AddEntityAsync(Rows.New(pk, rk));
        }

        var kits = await TestClients.ToListAsync(table.QueryPrefixAsync("p", "kit|"));

        Assert.Equal(["kit|001", "kit|002"], kits.Select(e => e.RowKey));
    }

    [Fact]
    public async Task CreateQueryFilter_TypedArguments_MatchStoredValues()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var when = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var id = Guid.NewGuid();
        await table.AddEntityAsync(Rows.New("p", "hit").Set("L", 1L << 40).Set("W", when).Set("G", id).Set("D", 2.5).Set("B", true));
        await table.AddEntityAsync(Rows.New("p", "miss").Set("L", 5L).Set("W", when.AddDays(-1)).Set("G", Guid.NewGuid()).Set("D", 1.0).Set("B", false));

        async Task<string> OnlyAsync(string filter) =>
            Assert.Single(await TestClients.ToListAsync(table.QueryAsync<TableEntity>(filter))).RowKey;

        Assert.Equal("hit", await OnlyAsync(TableClient.CreateQueryFilter($"PartitionKey eq {"p"} and L gt {1L << 39}")));
        Assert.Equal("hit", await OnlyAsync(TableClient.CreateQueryFilter($"PartitionKey eq {"p"} and W ge {when}")));
        Assert.Equal("hit", await OnlyAsync(TableClient.CreateQueryFilter($"PartitionKey eq {"p"} and G eq {id}")));
        Assert.Equal("hit", await OnlyAsync(TableClient.CreateQueryFilter($"PartitionKey eq {"p"} and D gt {2.0}")));
        Assert.Equal("hit", await OnlyAsync(TableClient.CreateQueryFilter($"PartitionKey eq {"p"} and B eq {true}")));
    }

    [Fact]
    public async Task CreateQueryFilter_InjectionAttempt_MatchesNothing()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await table.AddEntityAsync(Rows.New("p", "r"));
        const string hostile = "' or true or '";

        var rows = await TestClients.ToListAsync(table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {hostile}")));
        var prefixed = await TestClients.ToListAsync(table.QueryPrefixAsync("p", hostile));

        Assert.Empty(rows);
        Assert.Empty(prefixed);
    }

    private static async Task<Azure.Page<TableEntity>> FirstPageAsync(IAsyncEnumerable<Azure.Page<TableEntity>> pages)
    {
        await foreach (var page in pages)
        {
            return page;
        }

        throw new InvalidOperationException("No page.");
    }

    private static async Task InsertRowsAsync(TableClient table, string pk, int count)
    {
        var change = new StudyChange();
        change.AddRange(Enumerable.Range(0, count).Select(i => new TableTransactionAction(TableTransactionActionType.Add, Rows.New(pk, $"r{i}"))));
        await change.SubmitAsync(table, CancellationToken.None);
    }
}
