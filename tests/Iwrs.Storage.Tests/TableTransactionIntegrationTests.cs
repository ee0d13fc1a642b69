using Iwrs.Storage.Tables;

namespace Iwrs.Storage.Tests.Tables;

/// <summary>Entity-group transactions against Azurite: all or nothing, and the failing action identified.</summary>
[Trait("Category", "Integration")]
public sealed class TableTransactionIntegrationTests
{
    [Fact]
    public async Task SubmitTransaction_InsertUpdateDelete_AppliesAllAndReturnsETagsInOrder()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var toUpdate = await table.InsertAsync(new TableEntity("p", "update").Set("V", 1).Set("Keep", "k"));
        var toDelete = await table.InsertAsync(new TableEntity("p", "delete"));

        var etags = await table.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.Insert, new TableEntity("p", "insert").Set("V", 10)),
            new(TableTransactionActionType.UpdateMerge, new TableEntity("p", "update").Set("V", 2), new TableETag(toUpdate)),
            new(TableTransactionActionType.Delete, new TableEntity("p", "delete"), new TableETag(toDelete)),
        ]);

        Assert.Equal(3, etags.Count);
        var inserted = await table.GetEntityAsync("p", "insert");
        var updated = await table.GetEntityAsync("p", "update");
        Assert.Equal(10, inserted!.GetInt32("V"));
        Assert.Equal(etags[0], inserted.ETag);
        Assert.Equal(2, updated!.GetInt32("V"));
        Assert.Equal("k", updated.GetString("Keep"));
        Assert.Equal(etags[1], updated.ETag);
        Assert.Equal(string.Empty, etags[2]);
        Assert.Null(await table.GetEntityAsync("p", "delete"));
    }

    [Fact]
    public async Task SubmitTransaction_UpsertsAndReplace_Apply()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var existing = await table.InsertAsync(new TableEntity("p", "replace").Set("A", 1).Set("B", 1));
        await table.InsertAsync(new TableEntity("p", "merge").Set("A", 1));

        await table.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.UpsertReplace, new TableEntity("p", "new").Set("A", 5)),
            new(TableTransactionActionType.UpsertMerge, new TableEntity("p", "merge").Set("B", 2)),
            new(TableTransactionActionType.UpdateReplace, new TableEntity("p", "replace").Set("A", 3), new TableETag(existing)),
        ]);

        Assert.Equal(5, (await table.GetEntityAsync("p", "new"))!.GetInt32("A"));
        var merged = await table.GetEntityAsync("p", "merge");
        Assert.Equal(1, merged!.GetInt32("A"));
        Assert.Equal(2, merged.GetInt32("B"));
        var replaced = await table.GetEntityAsync("p", "replace");
        Assert.Equal(3, replaced!.GetInt32("A"));
        Assert.False(replaced.ContainsKey("B"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task SubmitTransaction_StaleETag_ThrowsWithIndexAnd412AndAppliesNothing(int staleAt)
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var a = await table.InsertAsync(new TableEntity("p", "a").Set("V", 1));
        var b = await table.InsertAsync(new TableEntity("p", "b").Set("V", 1));
        var staleA = a;
        var staleB = b;
        if (staleAt == 1)
        {
            await table.UpsertAsync(new TableEntity("p", "a").Set("V", 99), TableUpdateMode.Replace);
        }
        else
        {
            await table.UpsertAsync(new TableEntity("p", "b").Set("V", 99), TableUpdateMode.Replace);
        }

        var ex = await Assert.ThrowsAsync<TableTransactionFailedException>(() => table.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.Insert, new TableEntity("p", "inserted").Set("V", 1)),
            new(TableTransactionActionType.UpdateReplace, new TableEntity("p", "a").Set("V", 2), new TableETag(staleA)),
            new(TableTransactionActionType.Delete, new TableEntity("p", "b"), new TableETag(staleB)),
        ]));

        Assert.Equal(staleAt, ex.FailedActionIndex);
        Assert.Equal(412, ex.Status);
        Assert.Equal("UpdateConditionNotSatisfied", ex.ErrorCode);
        Assert.Null(await table.GetEntityAsync("p", "inserted"));
        Assert.NotNull(await table.GetEntityAsync("p", "b"));
        Assert.Equal(staleAt == 1 ? 99 : 1, (await table.GetEntityAsync("p", "a"))!.GetInt32("V"));
    }

    [Fact]
    public async Task SubmitTransaction_DuplicateInsert_Throws409WithIndexAndAppliesNothing()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        await table.InsertAsync(new TableEntity("p", "exists"));

        var ex = await Assert.ThrowsAsync<TableTransactionFailedException>(() => table.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.Insert, new TableEntity("p", "fresh1")),
            new(TableTransactionActionType.Insert, new TableEntity("p", "fresh2")),
            new(TableTransactionActionType.Insert, new TableEntity("p", "exists")),
        ]));

        Assert.Equal(2, ex.FailedActionIndex);
        Assert.Equal(409, ex.Status);
        Assert.Equal("EntityAlreadyExists", ex.ErrorCode);
        Assert.Null(await table.GetEntityAsync("p", "fresh1"));
        Assert.Null(await table.GetEntityAsync("p", "fresh2"));
    }

    [Fact]
    public async Task SubmitTransaction_SingleActionFails_IndexZero()
    {
        var table = await TestClients.NewAzuriteTableAsync();

        var ex = await Assert.ThrowsAsync<TableTransactionFailedException>(() => table.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.UpdateMerge, new TableEntity("p", "missing"), TableETag.All),
        ]));

        Assert.Equal(0, ex.FailedActionIndex);
        Assert.Equal(404, ex.Status);
    }

    [Theory]
    [MemberData(nameof(TableClientIntegrationTests.AwkwardKeys), MemberType = typeof(TableClientIntegrationTests))]
    public async Task SubmitTransaction_AwkwardKeys_RoundTrip(string pk, string rk)
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var existing = await table.InsertAsync(new TableEntity(pk, rk + " old").Set("V", 1));
        var deleteMe = await table.InsertAsync(new TableEntity(pk, rk + " gone"));

        var etags = await table.SubmitTransactionAsync(
        [
            new(TableTransactionActionType.Insert, new TableEntity(pk, rk).Set("V", 1)),
            new(TableTransactionActionType.UpdateMerge, new TableEntity(pk, rk + " old").Set("V", 2), new TableETag(existing)),
            new(TableTransactionActionType.Delete, new TableEntity(pk, rk + " gone"), new TableETag(deleteMe)),
        ]);

        var inserted = await table.GetEntityAsync(pk, rk);
        Assert.Equal(etags[0], inserted!.ETag);
        Assert.Equal(2, (await table.GetEntityAsync(pk, rk + " old"))!.GetInt32("V"));
        Assert.Null(await table.GetEntityAsync(pk, rk + " gone"));
    }

    [Fact]
    public async Task SubmitTransaction_HundredActions_AllApplied()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var actions = Enumerable.Range(0, TableBatch.MaxActions)
            .Select(i => new TableTransactionAction(TableTransactionActionType.Insert, new TableEntity("p", $"r{i:D3}").Set("I", i)))
            .ToList();

        var etags = await table.SubmitTransactionAsync(actions);

        Assert.Equal(100, etags.Count);
        Assert.All(etags, e => Assert.False(string.IsNullOrEmpty(e)));
        Assert.Equal(100, (await TableClientIntegrationTests.ToListAsync(table.QueryAsync(TableFilter.PartitionKeyEquals("p")))).Count);
    }
}
