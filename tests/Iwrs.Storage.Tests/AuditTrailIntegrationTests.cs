using Azure.Data.Tables;
using Iwrs.Domain.Audit;
using Iwrs.Storage.Stores;

namespace Iwrs.Storage.Tests;

/// <summary>The audit chain's transaction on Azurite, including a transaction the SDK sends twice.</summary>
[Trait("Category", "Integration")]
public sealed class AuditTrailIntegrationTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    private static AuditEntry Entry(string target) => new("user-1", "depot-manager", Channel.Http, "shipment.created", target, [new AuditChange("kits", null, "8")]);

    private static StudyChange Change(string key) => [new TableTransactionAction(TableTransactionActionType.Add, Rows.New("S1", key).Set("V", 1))];

    [Fact]
    public async Task Submit_SameTransactionAgainAfterItCommitted_IsTheSameChangeNotAFailure()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var head = await AuditTrail.ReadHeadAsync(table, "S1", CancellationToken.None);
        var first = await AuditTrail.SubmitAsync(table, "S1", Change("shipment|SH0001"), At, Entry("shipment:SH0001"), CancellationToken.None, head: head);

        // What the SDK's retry of a transaction whose answer was lost amounts to: the same rows on the same head.
        var again = await AuditTrail.SubmitAsync(table, "S1", Change("shipment|SH0001"), At, Entry("shipment:SH0001"), CancellationToken.None, head: head);

        Assert.Equal(first.Hash, again.Hash);
        Assert.Equal(1, (await AuditTrail.ReadHeadAsync(table, "S1", CancellationToken.None)).Sequence);
    }

    [Fact]
    public async Task Submit_OtherChangeOnAStaleHead_FailsAsALostRace()
    {
        var table = await TestClients.NewAzuriteTableAsync();
        var head = await AuditTrail.ReadHeadAsync(table, "S1", CancellationToken.None);
        await AuditTrail.SubmitAsync(table, "S1", Change("shipment|SH0001"), At, Entry("shipment:SH0001"), CancellationToken.None, head: head);

        var e = await Assert.ThrowsAsync<TableTransactionFailedException>(() =>
            AuditTrail.SubmitAsync(table, "S1", Change("shipment|SH0002"), At, Entry("shipment:SH0002"), CancellationToken.None, head: head));
        Assert.True(e.Status is 409 or 412, $"status {e.Status}");
        Assert.Null(await table.GetRowAsync("S1", "shipment|SH0002"));
    }
}
