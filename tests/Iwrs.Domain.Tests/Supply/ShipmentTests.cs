using Iwrs.Domain.Supply;
using static Iwrs.Domain.Tests.Supply.SupplyStudies;

namespace Iwrs.Domain.Tests.Supply;

public sealed class ShipmentTests
{
    private static readonly DateTimeOffset Created = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Dispatched = new(2026, 3, 1, 15, 30, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset FirstReceipt = new(2026, 3, 5, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset SecondReceipt = new(2026, 3, 5, 11, 0, 0, TimeSpan.Zero);

    private static Shipment Make(ShipmentStatus status, params ShipmentKit[] kits) => new(
        "SH-1", "CN01", status, kits, "resupply", Created, "timer",
        status == ShipmentStatus.Requested ? null : Dispatched,
        null);

    private static Shipment ThreeKits(ShipmentStatus status = ShipmentStatus.Dispatched) => Make(
        status,
        new ShipmentKit("K1AA", Lj, KitCondition.Pending),
        new ShipmentKit("K2BB", Pbo, KitCondition.Pending),
        new ShipmentKit("K3CC", Lj, KitCondition.Pending));

    private static (string, KitCondition)[] Receipt(params (string, KitCondition)[] lines) => lines;

    [Theory]
    [InlineData(ShipmentStatus.Requested, "requested")]
    [InlineData(ShipmentStatus.Dispatched, "dispatched")]
    [InlineData(ShipmentStatus.AwaitingRelease, "awaiting-release")]
    [InlineData(ShipmentStatus.Received, "received")]
    public void Name_EveryShipmentStatus_IsItsStableName(ShipmentStatus status, string name)
    {
        Assert.Equal(name, Shipment.Name(status));
    }

    [Theory]
    [InlineData(KitCondition.Pending, "pending")]
    [InlineData(KitCondition.Ok, "ok")]
    [InlineData(KitCondition.Damaged, "damaged")]
    [InlineData(KitCondition.Missing, "missing")]
    public void Name_EveryKitCondition_IsItsStableName(KitCondition condition, string name)
    {
        Assert.Equal(name, Shipment.Name(condition));
    }

    [Theory]
    [InlineData("ok", KitCondition.Ok)]
    [InlineData("damaged", KitCondition.Damaged)]
    [InlineData("missing", KitCondition.Missing)]
    public void TryParseCondition_ReportableCondition_TrueWithIt(string value, KitCondition expected)
    {
        Assert.True(Shipment.TryParseCondition(value, out var condition));
        Assert.Equal(expected, condition);
        Assert.Equal(value, Shipment.Name(condition));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("pending")]
    [InlineData("OK")]
    [InlineData("Ok")]
    [InlineData(" ok")]
    [InlineData("broken")]
    [InlineData("1")]
    public void TryParseCondition_AnythingElse_FalseWithPending(string? value)
    {
        Assert.False(Shipment.TryParseCondition(value, out var condition));
        Assert.Equal(KitCondition.Pending, condition);
    }

    [Fact]
    public void MaxKits_Value_IsForty()
    {
        Assert.Equal(40, Shipment.MaxKits);
    }

    [Fact]
    public void Receive_Requested_RefusedAsNotDispatched()
    {
        var result = ThreeKits(ShipmentStatus.Requested).Receive(Receipt(("K1AA", KitCondition.Ok)), FirstReceipt);

        Assert.False(result.IsSuccess);
        Assert.Equal("shipment-not-dispatched", result.Error!.Code);
        Assert.Contains("SH-1", result.Error.Message, StringComparison.Ordinal);
        Assert.Null(result.Error.Errors);
    }

    [Fact]
    public void Receive_SomeKits_StaysDispatchedAndReturnsTheChangedKits()
    {
        var shipment = ThreeKits();

        var result = shipment.Receive(Receipt(("K3CC", KitCondition.Ok), ("K1AA", KitCondition.Damaged)), FirstReceipt);

        Assert.True(result.IsSuccess);
        var (after, changed) = result.Value;
        Assert.Equal(ShipmentStatus.Dispatched, after.Status);
        Assert.Null(after.ReceivedAt);
        Assert.Equal([new ShipmentKit("K3CC", Lj, KitCondition.Ok), new ShipmentKit("K1AA", Lj, KitCondition.Damaged)], changed);
        Assert.Equal(
            [
                new ShipmentKit("K1AA", Lj, KitCondition.Damaged),
                new ShipmentKit("K2BB", Pbo, KitCondition.Pending),
                new ShipmentKit("K3CC", Lj, KitCondition.Ok),
            ],
            after.Kits);
        Assert.Equal(("SH-1", "CN01", "resupply", Created, "timer", (DateTimeOffset?)Dispatched), (after.ShipmentId, after.SiteId, after.Reason, after.CreatedAt, after.CreatedBy, after.DispatchedAt));
    }

    [Fact]
    public void Receive_Applied_LeavesTheOriginalShipmentUntouched()
    {
        var shipment = ThreeKits();

        _ = shipment.Receive(Receipt(("K1AA", KitCondition.Ok), ("K2BB", KitCondition.Ok), ("K3CC", KitCondition.Ok)), FirstReceipt);

        Assert.Equal(ShipmentStatus.Dispatched, shipment.Status);
        Assert.All(shipment.Kits, k => Assert.Equal(KitCondition.Pending, k.Condition));
        Assert.Null(shipment.ReceivedAt);
    }

    [Fact]
    public void Receive_LastPendingKits_ReceivedAtThatTime()
    {
        var partial = ThreeKits().Receive(Receipt(("K1AA", KitCondition.Ok)), FirstReceipt).Value.Shipment;

        var (after, changed) = partial.Receive(Receipt(("K2BB", KitCondition.Missing), ("K3CC", KitCondition.Ok)), SecondReceipt).Value;

        Assert.Equal(ShipmentStatus.AwaitingRelease, after.Status);
        Assert.Equal(SecondReceipt, after.ReceivedAt);
        Assert.Null(after.ReleasedAt);
        Assert.Equal(["K2BB", "K3CC"], changed.Select(k => k.KitNumber));
        Assert.Equal([KitCondition.Ok, KitCondition.Missing, KitCondition.Ok], after.Kits.Select(k => k.Condition));
    }

    [Fact]
    public void Receive_EveryKitInOneReceipt_Received()
    {
        var (after, changed) = ThreeKits().Receive(
            Receipt(("K2BB", KitCondition.Ok), ("K1AA", KitCondition.Ok), ("K3CC", KitCondition.Ok)), FirstReceipt).Value;

        Assert.Equal(ShipmentStatus.Received, after.Status);
        Assert.Equal(FirstReceipt, after.ReceivedAt);
        Assert.Equal(FirstReceipt, after.ReleasedAt);
        Assert.Equal(3, changed.Count);
    }

    [Fact]
    public void Receive_EveryKitDamagedOrMissing_AccountedForAndAwaitingRelease()
    {
        var (after, _) = ThreeKits().Receive(
            Receipt(("K1AA", KitCondition.Damaged), ("K2BB", KitCondition.Missing), ("K3CC", KitCondition.Missing)), FirstReceipt).Value;

        Assert.Equal(ShipmentStatus.AwaitingRelease, after.Status);
    }

    /// <summary>Only whole shipments reach the shelf: a partial receipt leaves it dispatched, whatever was reported.</summary>
    [Theory]
    [InlineData(KitCondition.Ok)]
    [InlineData(KitCondition.Damaged)]
    public void Receive_SomeKitsPending_StaysDispatched(KitCondition condition)
    {
        var (after, _) = ThreeKits().Receive(Receipt(("K1AA", condition), ("K2BB", KitCondition.Ok)), FirstReceipt).Value;

        Assert.Equal((ShipmentStatus.Dispatched, (DateTimeOffset?)null, (DateTimeOffset?)null), (after.Status, after.ReceivedAt, after.ReleasedAt));
        Assert.True(after.IsOpen);
    }

    [Fact]
    public void Release_AwaitingRelease_ReceivedAndReleasedThen()
    {
        var awaiting = ThreeKits().Receive(Receipt(("K1AA", KitCondition.Damaged), ("K2BB", KitCondition.Ok), ("K3CC", KitCondition.Ok)), FirstReceipt).Value.Shipment;

        var released = awaiting.Release(SecondReceipt).Value;

        Assert.Equal((ShipmentStatus.Received, FirstReceipt, SecondReceipt), (released.Status, released.ReceivedAt!.Value, released.ReleasedAt!.Value));
        Assert.False(released.IsOpen);
        Assert.Equal("shipment-already-released", released.Release(SecondReceipt).Error!.Code);
    }

    [Theory]
    [InlineData(ShipmentStatus.Requested)]
    [InlineData(ShipmentStatus.Dispatched)]
    public void Release_NotFullyReported_Refused(ShipmentStatus status)
    {
        Assert.Equal("shipment-not-received", ThreeKits(status).Release(SecondReceipt).Error!.Code);
    }

    [Fact]
    public void Receive_SameKitSameConditionAgain_NoChangedKits()
    {
        var partial = ThreeKits().Receive(Receipt(("K1AA", KitCondition.Ok)), FirstReceipt).Value.Shipment;

        var (after, changed) = partial.Receive(Receipt(("K1AA", KitCondition.Ok)), SecondReceipt).Value;

        Assert.Empty(changed);
        Assert.Equal(ShipmentStatus.Dispatched, after.Status);
        Assert.Null(after.ReceivedAt);
        Assert.Equal(partial.Kits, after.Kits);
    }

    [Fact]
    public void Receive_SameKitTwiceInOneReceipt_ChangedOnce()
    {
        var (after, changed) = ThreeKits().Receive(Receipt(("K2BB", KitCondition.Damaged), ("K2BB", KitCondition.Damaged)), FirstReceipt).Value;

        Assert.Equal([new ShipmentKit("K2BB", Pbo, KitCondition.Damaged)], changed);
        Assert.Equal(KitCondition.Damaged, after.Kits[1].Condition);
    }

    [Fact]
    public void Receive_RetriedAfterTheShipmentWasReceived_NoChangeAndReceivedAtKept()
    {
        var all = Receipt(("K1AA", KitCondition.Ok), ("K2BB", KitCondition.Ok), ("K3CC", KitCondition.Damaged));
        var received = ThreeKits().Receive(all, FirstReceipt).Value.Shipment;

        var retry = received.Receive(all, SecondReceipt);

        Assert.True(retry.IsSuccess);
        Assert.Empty(retry.Value.Changed);
        Assert.Equal(ShipmentStatus.AwaitingRelease, retry.Value.Shipment.Status);
        Assert.Equal(received.Kits, retry.Value.Shipment.Kits);

        // A retried receipt must answer with the first result: the shipment was received at the first receipt.
        Assert.Equal(FirstReceipt, retry.Value.Shipment.ReceivedAt);
    }

    [Fact]
    public void Receive_AlreadyReceivedKitWithAnotherCondition_RefusedAtItsCondition()
    {
        var partial = ThreeKits().Receive(Receipt(("K1AA", KitCondition.Ok)), FirstReceipt).Value.Shipment;

        var result = partial.Receive(Receipt(("K3CC", KitCondition.Ok), ("K1AA", KitCondition.Damaged)), SecondReceipt);

        Assert.Equal(["kits[1].condition"], Fields(result));
        Assert.Contains("K1AA", result.Error!.Errors![0].Reason, StringComparison.Ordinal);
        Assert.Contains("already received as ok", result.Error.Errors[0].Reason, StringComparison.Ordinal);
        Assert.Equal("The receipt does not match the shipment.", result.Error.Message);
    }

    [Fact]
    public void Receive_ConflictingConditionsInOneReceipt_RefusedAtTheSecond()
    {
        var result = ThreeKits().Receive(Receipt(("K1AA", KitCondition.Ok), ("K1AA", KitCondition.Missing)), FirstReceipt);

        Assert.Equal(["kits[1].condition"], Fields(result));
    }

    [Fact]
    public void Receive_KitNotInShipment_RefusedAtItsKitNumber()
    {
        var result = ThreeKits().Receive(Receipt(("K1AA", KitCondition.Ok), ("ZZZZ", KitCondition.Ok)), FirstReceipt);

        Assert.Equal(["kits[1].kitNumber"], Fields(result));
        Assert.Contains("'ZZZZ'", result.Error!.Errors![0].Reason, StringComparison.Ordinal);
        Assert.Contains("'SH-1'", result.Error.Errors[0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Receive_KitNumberInAnotherCase_NotInShipment()
    {
        var result = ThreeKits().Receive(Receipt(("k1aa", KitCondition.Ok)), FirstReceipt);

        Assert.Equal(["kits[0].kitNumber"], Fields(result));
    }

    [Fact]
    public void Receive_SeveralProblems_ListsEveryOneAndAppliesNothing()
    {
        var partial = ThreeKits().Receive(Receipt(("K2BB", KitCondition.Missing)), FirstReceipt).Value.Shipment;

        var result = partial.Receive(
            Receipt(("NOPE1", KitCondition.Ok), ("K1AA", KitCondition.Ok), ("K2BB", KitCondition.Ok), ("NOPE2", KitCondition.Damaged)),
            SecondReceipt);

        Assert.Equal(["kits[0].kitNumber", "kits[2].condition", "kits[3].kitNumber"], Fields(result));
    }

    [Fact]
    public void Receive_EmptyReceipt_NothingChanges()
    {
        var (after, changed) = ThreeKits().Receive([], FirstReceipt).Value;

        Assert.Empty(changed);
        Assert.Equal(ShipmentStatus.Dispatched, after.Status);
        Assert.Null(after.ReceivedAt);
    }
}
