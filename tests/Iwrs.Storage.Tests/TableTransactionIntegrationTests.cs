using Azure;
using Azure.Data.Tables;
using Iwrs.Storage.Stores;

namespace Iwrs.Storage.Tests;

/// <summary>Entity-group transactions against Azurite: all or nothing, and the failing action identified.</summary>
[Trait("Category", "Integration")]
public sealed class TableTransactionIntegrationTests
{
    [Fact]
    public async Task Submit_InsertUpdateDelete_AppliesAllAndReturnsETagsInOrder()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var toUpdate = await AddAsync(table, Rows.New("p", "update").Set("V", 1).Set("Keep", "k"));
        var toDelete = await AddAsync(table, Rows.New("p", "delete"));

        var etags = await new StudyChange
        {
            new(TableTransactionActionType.Add, Rows.New("p", "insert").Set("V", 10)),
            new(TableTransactionActionType.UpdateMerge, Rows.New("p", "update").Set("V", 2), toUpdate),
            new(TableTransactionActionType.Delete, Rows.New("p", "delete"), toDelete),
        }.SubmitAsync(table, CancellationToken.None);

        Assert.Equal(3, etags.Count);
        var inserted = await table.GetRowAsync("p", "insert");
        var updated = await table.GetRowAsync("p", "update");
        Assert.Equal(10, inserted!.GetInt32("V"));
        Assert.Equal(etags[0], inserted.Tag());
        Assert.Equal(2, updated!.GetInt32("V"));
        Assert.Equal("k", updated.GetString("Keep"));
        Assert.Equal(etags[1], updated.Tag());
        Assert.Equal(string.Empty, etags[2]);
        Assert.Null(await table.GetRowAsync("p", "delete"));
    }

    [Fact]
    public async Task Submit_UpsertsAndReplace_Apply()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var existing = await AddAsync(table, Rows.New("p", "replace").Set("A", 1).Set("B", 1));
        await AddAsync(table, Rows.New("p", "merge").Set("A", 1));

        await new StudyChange
        {
            new(TableTransactionActionType.UpsertReplace, Rows.New("p", "new").Set("A", 5)),
            new(TableTransactionActionType.UpsertMerge, Rows.New("p", "merge").Set("B", 2)),
            new(TableTransactionActionType.UpdateReplace, Rows.New("p", "replace").Set("A", 3), existing),
        }.SubmitAsync(table, CancellationToken.None);

        Assert.Equal(5, (await table.GetRowAsync("p", "new"))!.GetInt32("A"));
        var merged = await table.GetRowAsync("p", "merge");
        Assert.Equal(1, merged!.GetInt32("A"));
        Assert.Equal(2, merged.GetInt32("B"));
        var replaced = await table.GetRowAsync("p", "replace");
        Assert.Equal(3, replaced!.GetInt32("A"));
        Assert.False(replaced.ContainsKey("B"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Submit_StaleETag_ThrowsWithIndexAnd412AndAppliesNothing(int staleAt)
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var staleA = await AddAsync(table, Rows.New("p", "a").Set("V", 1));
        var staleB = await AddAsync(table, Rows.New("p", "b").Set("V", 1));
        await table.UpsertEntityAsync(Rows.New("p", staleAt == 1 ? "a" : "b").Set("V", 99), TableUpdateMode.Replace);

        var ex = await Assert.ThrowsAsync<TableTransactionFailedException>(() => new StudyChange
        {
            new(TableTransactionActionType.Add, Rows.New("p", "inserted").Set("V", 1)),
            new(TableTransactionActionType.UpdateReplace, Rows.New("p", "a").Set("V", 2), staleA),
            new(TableTransactionActionType.Delete, Rows.New("p", "b"), staleB),
        }.SubmitAsync(table, CancellationToken.None));

        Assert.Equal(staleAt, ex.FailedTransactionActionIndex);
        Assert.Equal(412, ex.Status);
        Assert.Equal("UpdateConditionNotSatisfied", ex.ErrorCode);
        Assert.False(StorageFailure.IsUnavailable(ex));
        Assert.Null(await table.GetRowAsync("p", "inserted"));
        Assert.NotNull(await table.GetRowAsync("p", "b"));
        Assert.Equal(staleAt == 1 ? 99 : 1, (await table.GetRowAsync("p", "a"))!.GetInt32("V"));
    }

    [Fact]
    public async Task Submit_QueriedRowUnderItsETag_AppliesAndAStaleQueryFails()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await AddAsync(table, Rows.New("p", "idx|1").Set("V", 1));
        var read = Assert.Single(await TestClients.ToListAsync(table.QueryPrefixAsync("p", "idx|")));

        await new StudyChange { new(TableTransactionActionType.Delete, Rows.New("p", read.RowKey), read.ETag) }.SubmitAsync(table, CancellationToken.None);
        var again = await Assert.ThrowsAsync<TableTransactionFailedException>(
            () => new StudyChange { new(TableTransactionActionType.Delete, Rows.New("p", read.RowKey), read.ETag) }.SubmitAsync(table, CancellationToken.None));

        Assert.Equal(404, again.Status);
        Assert.Equal(0, again.FailedTransactionActionIndex);
    }

    [Fact]
    public async Task Submit_DuplicateInsert_Throws409WithIndexAndAppliesNothing()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await AddAsync(table, Rows.New("p", "exists"));

        var ex = await Assert.ThrowsAsync<TableTransactionFailedException>(() => new StudyChange
        {
            new(TableTransactionActionType.Add, Rows.New("p", "fresh1")),
            new(TableTransactionActionType.Add, Rows.New("p", "fresh2")),
            new(TableTransactionActionType.Add, Rows.New("p", "exists")),
        }.SubmitAsync(table, CancellationToken.None));

        Assert.Equal(2, ex.FailedTransactionActionIndex);
        Assert.Equal(409, ex.Status);
        Assert.Equal("EntityAlreadyExists", ex.ErrorCode);
        Assert.Null(await table.GetRowAsync("p", "fresh1"));
        Assert.Null(await table.GetRowAsync("p", "fresh2"));
    }

    [Fact]
    public async Task Submit_SingleActionFails_IndexZero()
    {
        var table = await TestClients.NewAzuriteTableAsync();

        var ex = await Assert.ThrowsAsync<TableTransactionFailedException>(() => new StudyChange
        {
            new(TableTransactionActionType.UpdateMerge, Rows.New("p", "missing"), ETag.All),
        }.SubmitAsync(table, CancellationToken.None));

        Assert.Equal(0, ex.FailedTransactionActionIndex);
        Assert.Equal(404, ex.Status);
    }

    [Theory]
    [MemberData(nameof(TableClientIntegrationTests.AwkwardKeys), MemberType = typeof(TableClientIntegrationTests))]
    public async Task Submit_AwkwardKeys_RoundTrip(string pk, string rk)
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var existing = await AddAsync(table, Rows.New(pk, rk + " old").Set("V", 1));
        var deleteMe = await AddAsync(table, Rows.New(pk, rk + " gone"));

        var etags = await new StudyChange
        {
            new(TableTransactionActionType.Add, Rows.New(pk, rk).Set("V", 1)),
            new(TableTransactionActionType.UpdateMerge, Rows.New(pk, rk + " old").Set("V", 2), existing),
            new(TableTransactionActionType.Delete, Rows.New(pk, rk + " gone"), deleteMe),
        }.SubmitAsync(table, CancellationToken.None);

        var inserted = await table.GetRowAsync(pk, rk);
        Assert.Equal(etags[0], inserted!.Tag());
        Assert.Equal(2, (await table.GetRowAsync(pk, rk + " old"))!.GetInt32("V"));
        Assert.Null(await table.GetRowAsync(pk, rk + " gone"));
    }

    [Fact]
    public async Task Submit_HundredActions_AllApplied()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var change = new StudyChange();
        change.AddRange(Enumerable.Range(0, StudyChange.MaxActions)
            .Select(i => new TableTransactionAction(TableTransactionActionType.Add, Rows.New("p", $"r{i:D3}").Set("I", i))));

        var etags = await change.SubmitAsync(table, CancellationToken.None);

        Assert.Equal(100, etags.Count);
        Assert.All(etags, e => Assert.False(string.IsNullOrEmpty(e)));
        Assert.Equal(100, (await TestClients.ToListAsync(table.QueryPrefixAsync("p", "r"))).Count);
    }

    private static async Task<ETag> AddAsync(TableClient table, TableEntity entity) =>
        (await table.AddEntityAsync(entity)).Headers.ETag!.Value;
}
