using Iwrs.Domain.Studies;
using Iwrs.Domain.Supply;
using Iwrs.Domain.Tests.Studies;
using static Iwrs.Domain.Tests.Supply.SupplyStudies;

namespace Iwrs.Domain.Tests.Supply;

public sealed class SubjectPacksTests
{
    private static readonly DateOnly Expiry = new(2027, 6, 30);

    /// <summary>
    /// The capacity rule's promise, checked over every sequence of events on small starters: while a starter's
    /// public capacity is above zero it still holds a randomization's kits of every type, whatever the types of the
    /// kits lost and of the subjects served (the secret). Losses and randomizations are taken in every order, of every
    /// type, until the starter is empty.
    /// </summary>
    [Theory]
    [InlineData(1, 2, 2)]
    [InlineData(1, 3, 3)]
    [InlineData(1, 4, 2)]
    [InlineData(1, 2, 2, 2)]
    [InlineData(2, 4, 4)]
    [InlineData(2, 6, 4)]
    public void Capacity_WhileAboveZero_EveryTypeHasARandomizationsKits_WhateverWasLostOrServed(int kitsPerVisit, params int[] kits)
    {
        var states = 0;
        void Walk(int[] left, Starter starter)
        {
            states++;
            var capacity = starter.Capacity(kitsPerVisit);
            if (capacity > 0)
            {
                Assert.All(left, k => Assert.True(k >= kitsPerVisit, $"capacity {capacity} with [{string.Join(", ", left)}] left"));
            }

            for (var t = 0; t < left.Length; t++)
            {
                // A kit of type t lost (damaged or missing), at receipt or later.
                if (left[t] > 0)
                {
                    var next = (int[])left.Clone();
                    next[t]--;
                    Walk(next, starter with { Lost = starter.Lost + 1 });
                }

                // A subject of type t randomized from it: only while the rules let it serve.
                if (capacity > 0)
                {
                    var next = (int[])left.Clone();
                    next[t] -= kitsPerVisit;
                    Walk(next, starter with { Served = starter.Served + 1 });
                }
            }
        }

        Walk(kits, SubjectPacks.NewStarter("T1", Expiry, kits));
        Assert.True(states > 10);
    }

    [Theory]
    [InlineData(1, 2, 2)]
    [InlineData(1, 4, 2)]
    [InlineData(1, 2, 2, 2)]
    [InlineData(2, 4, 4)]
    [InlineData(2, 5, 5)]
    [InlineData(3, 6, 3)]
    public void Capacity_FromTheKitsLeftOnTheShelf_EqualsTheCountedCapacity(int kitsPerVisit, params int[] kits)
    {
        var label = new StarterLabel("SH0001-1", kits.Sum(), kits.Min());
        for (var lost = 0; lost <= kits.Sum(); lost++)
        {
            for (var served = 0; lost + (served * kitsPerVisit) <= kits.Sum(); served++)
            {
                var counted = new Starter(label.Id, Expiry, label.Scarcest, lost, served).Capacity(kitsPerVisit);
                Assert.Equal(counted, SubjectPacks.Capacity(label, kits.Sum() - lost - (served * kitsPerVisit), kitsPerVisit));
            }
        }
    }

    [Theory]
    [InlineData(new[] { 2, 2 }, 1, 2)]
    [InlineData(new[] { 4, 2 }, 1, 2)]
    [InlineData(new[] { 6, 6 }, 1, 6)]
    [InlineData(new[] { 4, 4 }, 2, 2)]
    [InlineData(new[] { 5, 5 }, 2, 2)]
    public void NewStarter_ServesAsManyRandomizationsAsItsScarcestTypeHolds(int[] kits, int kitsPerVisit, int serves)
    {
        var starter = SubjectPacks.NewStarter("T1", Expiry, kits);

        Assert.Equal(serves, starter.Capacity(kitsPerVisit));
        Assert.Equal(serves, SubjectPacks.Serves(kits, kitsPerVisit));
        Assert.Equal(0, (starter with { Served = serves }).Capacity(kitsPerVisit));
    }

    [Fact]
    public void Capacity_EachKitLost_WhateverItsType_CostsARandomization()
    {
        var starter = SubjectPacks.NewStarter("T1", Expiry, [3, 3]);

        Assert.Equal(3, starter.Capacity(1));
        Assert.Equal(2, (starter with { Lost = 1 }).Capacity(1));
        Assert.Equal(1, (starter with { Lost = 1, Served = 1 }).Capacity(1));
        Assert.Equal(0, (starter with { Lost = 3 }).Capacity(1));
        Assert.Equal(0, (starter with { Lost = 4, Served = 1 }).Capacity(1));
    }

    [Fact]
    public void OpenStarter_TheOldestReleasedWithCapacity_StillDispensable()
    {
        var usableFrom = new DateOnly(2026, 6, 1);
        var used = new Starter("T1", Expiry, 2, 0, 2);
        var expiring = new Starter("T2", usableFrom.AddDays(-1), 2, 0, 0);
        var open = new Starter("T3", Expiry, 2, 1, 0);
        var next = new Starter("T4", Expiry, 2, 0, 0);

        Assert.Equal(open, SubjectPacks.OpenStarter([used, expiring, open, next], usableFrom, 1));
        Assert.Equal(expiring, SubjectPacks.OpenStarter([expiring, open], usableFrom.AddDays(-1), 1));
        Assert.Null(SubjectPacks.OpenStarter([used, expiring], usableFrom, 1));
        Assert.Null(SubjectPacks.OpenStarter([], usableFrom, 1));
    }

    [Theory]
    [InlineData(8, 8, 100, 2, 0)]
    [InlineData(7, 8, 100, 2, 1)]
    [InlineData(3, 8, 100, 2, 3)]
    [InlineData(0, 8, 100, 2, 4)]
    [InlineData(0, 8, 3, 2, 2)]
    [InlineData(3, 8, 3, 2, 0)]
    [InlineData(0, 8, 0, 2, 0)]
    [InlineData(5, 8, 100, 6, 1)]
    public void StartersToOrder_UpToTheTrigger_OrTheSubjectsStillToRandomize(int counted, int trigger, int stillToRandomize, int perStarter, int expected)
    {
        Assert.Equal(expected, SubjectPacks.StartersToOrder(counted, trigger, stillToRandomize, perStarter));
    }

    [Fact]
    public void CountedCapacity_ShelfStillDispensableLater_PlusOnTheWay_PlusOrdered()
    {
        var countedFrom = new DateOnly(2026, 9, 1);
        Starter[] shelf = [new("T1", Expiry, 2, 0, 1), new("T2", countedFrom.AddDays(-1), 2, 0, 0), new("T3", Expiry, 3, 1, 0)];
        Starter[] onTheWay = [new("T4", Expiry, 2, 1, 0)];

        // T1 serves 1 more, T2 passes its limit before a new starter could replace it, T3 serves 2; T4 on the way 1; 2 ordered of 2.
        Assert.Equal(1 + 2 + 1 + 4, SubjectPacks.CountedCapacity(shelf, onTheWay, 2, 2, countedFrom, 1));
    }

    [Theory]
    [InlineData(1, 35, 0, 1, 1)]
    [InlineData(1, 35, 0, 3, 3)]
    [InlineData(1, 35, 1, 3, 0)]
    [InlineData(33, 35, 0, 3, 2)]
    [InlineData(35, 35, 0, 3, 0)]
    [InlineData(34, 35, 0, 1, 1)]
    public void PackKitsToOrder_TheNextVisitsKits_WhenThePackIsShortOfTheNextVisit(int visitsDone, int dispensingVisits, int have, int packVisits, int expected)
    {
        Assert.Equal(expected, SubjectPacks.PackKitsToOrder(visitsDone, dispensingVisits, have, packVisits, 1));
    }

    [Fact]
    public void PackKitsToOrder_TwoKitsAVisit_TopsUpAPartialPack()
    {
        Assert.Equal(6, SubjectPacks.PackKitsToOrder(1, 10, 0, 3, 2));
        Assert.Equal(5, SubjectPacks.PackKitsToOrder(1, 10, 1, 3, 2));
        Assert.Equal(0, SubjectPacks.PackKitsToOrder(1, 10, 2, 3, 2));
    }

    [Fact]
    public void PackEarliestExpiry_LastsToItsLastVisitAtTheLatest_PlusTheDispensingLimit()
    {
        var schedule = LjStudy.VisitSchedule;
        var supply = LjStudy.Supply;
        var nextTarget = new DateOnly(2026, 4, 1);
        var margin = schedule.CycleLengthDays + schedule.WindowDays + supply.DoNotDispenseDays;

        // One visit: its window's last day. Three: two visits may each come a window late, then the third's window.
        Assert.Equal(nextTarget.AddDays(schedule.WindowDays + margin), SubjectPacks.PackEarliestExpiry(nextTarget, 1, Today, schedule, supply));
        Assert.Equal(
            nextTarget.AddDays((2 * (schedule.CycleLengthDays + schedule.WindowDays)) + schedule.WindowDays + margin),
            SubjectPacks.PackEarliestExpiry(nextTarget, 3, Today, schedule, supply));

        // A visit already late: counted from today.
        var late = nextTarget.AddDays(-30);
        Assert.Equal(nextTarget.AddDays(margin), SubjectPacks.PackEarliestExpiry(late, 1, nextTarget, schedule, supply));
    }

    [Fact]
    public void OrderForLateVisit_TheNextVisitsKits_LeavingToday_LastingAWindowPastTheirArrival()
    {
        var schedule = LjStudy.VisitSchedule;
        var supply = LjStudy.Supply;
        var today = new DateOnly(2026, 5, 10);
        var packs = new SubjectPackSettings(4, 8, 2);
        var order = SubjectPacks.OrderForLateVisit(2, 0, today, schedule, supply, packs)!;

        // After C2, C3 and C4's kits; on the shelf a lead time and a release wait from today, the first of them may
        // come a window after that, the second a cycle and a window later still.
        var onShelf = today.AddDays(supply.LeadTimeDays + Dispensability.ArrivalMarginDays);
        Assert.Equal(2 * schedule.KitsPerVisit, order.Kits);
        Assert.Equal(today, order.ShipBy);
        Assert.Equal(SubjectPacks.PackEarliestExpiry(onShelf, 2, today, schedule, supply), order.Earliest);
        Assert.True(order.Earliest > SubjectPacks.PackEarliestExpiry(today, 2, today, schedule, supply));

        // Nothing when the pack still holds the next visit's kits, or no visit is left.
        Assert.Null(SubjectPacks.OrderForLateVisit(2, schedule.KitsPerVisit, today, schedule, supply, packs));
        Assert.Null(SubjectPacks.OrderForLateVisit(schedule.DispensingVisits, 0, today, schedule, supply, packs));
        Assert.Equal(schedule.KitsPerVisit, SubjectPacks.OrderForLateVisit(schedule.DispensingVisits - 1, 0, today, schedule, supply, packs)!.Kits);
    }

    [Fact]
    public void PackShipBy_OnTheShelfBeforeTheWindowOpens_WithTheMarginToSpare()
    {
        var schedule = LjStudy.VisitSchedule;
        var supply = LjStudy.Supply;
        var target = new DateOnly(2026, 4, 22);
        var shipBy = SubjectPacks.PackShipBy(target, schedule, supply);

        // Shipped that day, it arrives a lead time later and is released within the arrival margin, the spare days
        // before the window opens.
        Assert.Equal(
            target.AddDays(-schedule.WindowDays),
            shipBy.AddDays(supply.LeadTimeDays + Dispensability.ArrivalMarginDays + SubjectPacks.PackShipMarginDays));
        Assert.True(SubjectPacks.PackShipBy(target, schedule, supply with { LeadTimeDays = 0 }) > shipBy);
    }

    [Fact]
    public void ShipsToday_AStarterAtOnce_PacksOnTheLastDayOfTheEarliest()
    {
        var today = new DateOnly(2026, 4, 10);

        Assert.False(SubjectPacks.ShipsToday(today, 0, []));
        Assert.False(SubjectPacks.ShipsToday(today, 0, [today.AddDays(1), today.AddDays(9)]));
        Assert.True(SubjectPacks.ShipsToday(today, 0, [today.AddDays(9), today]));
        Assert.True(SubjectPacks.ShipsToday(today, 0, [today.AddDays(-2)]));
        Assert.True(SubjectPacks.ShipsToday(today, 1, [today.AddDays(9)]));
        Assert.True(SubjectPacks.ShipsToday(today, 1, []));
    }

    [Fact]
    public void StarterEarliestExpiry_DispensableForItsShelfDaysAfterArrival()
    {
        var supply = LjStudy.Supply;
        Assert.Equal(
            Dispensability.EarliestAllowedExpiry(Today.AddDays(supply.LeadTimeDays + SubjectPacks.StarterShelfDays), LjStudy.VisitSchedule, supply),
            SubjectPacks.StarterEarliestExpiry(Today, LjStudy.VisitSchedule, supply));
    }

    [Fact]
    public void ShipmentBatch_EarliestHoldingTheWholeNumberOfEveryType()
    {
        var early = new DepotBatch(new DateOnly(2026, 9, 1), "LOT-E");
        var middle = new DepotBatch(new DateOnly(2027, 3, 1), "LOT-M");
        var late = new DepotBatch(new DateOnly(2027, 9, 1), "LOT-L");
        var depot = new Dictionary<DepotBatch, IReadOnlyDictionary<string, int>>
        {
            [late] = new Dictionary<string, int> { [Lj] = 50, [Pbo] = 50 },
            [early] = new Dictionary<string, int> { [Lj] = 9, [Pbo] = 30 },
            [middle] = new Dictionary<string, int> { [Lj] = 12, [Pbo] = 11 },
        };

        // Any shipment of 9 kits, whatever its mix of types, comes from the early batch; of 10, the early one lacks LJ
        // for an all-LJ mix, and the middle one holds 10 of each; of 12, the middle one lacks PBO.
        Assert.Equal(early, SubjectPacks.ShipmentBatch(9, [Lj, Pbo], depot));
        Assert.Equal(middle, SubjectPacks.ShipmentBatch(10, [Lj, Pbo], depot));
        Assert.Equal(late, SubjectPacks.ShipmentBatch(12, [Lj, Pbo], depot));
        Assert.Null(SubjectPacks.ShipmentBatch(51, [Lj, Pbo], depot));
    }

    [Fact]
    public void StarterSize_SplitsIntoTheRatio_WithARandomizationsKitsOfEveryType()
    {
        Assert.Equal(4, SubjectPacks.DefaultStarterSize(LjStudy));
        Assert.Equal([2, 2], SubjectPacks.StarterKits(LjStudy, 4));
        Assert.Null(SubjectPacks.InvalidStarterSize(LjStudy, 4));
        Assert.Null(SubjectPacks.InvalidStarterSize(LjStudy, 2));
        Assert.NotNull(SubjectPacks.InvalidStarterSize(LjStudy, 5));
        Assert.NotNull(SubjectPacks.InvalidStarterSize(LjStudy, 0));
        Assert.Equal(1, SubjectPacks.DefaultStarterSize(AkkStudy) / 2);
        Assert.Null(SubjectPacks.InvalidStarterSize(AkkStudy, 1));

        // Two kits a visit: a starter of 2 (1 + 1) cannot serve a randomization.
        var twoKits = StudyFiles.Valid(StudyFiles.Lj with { VisitSchedule = StudyFiles.Lj.VisitSchedule! with { KitsPerVisit = 2 } });
        Assert.NotNull(SubjectPacks.InvalidStarterSize(twoKits, 2));
        Assert.Null(SubjectPacks.InvalidStarterSize(twoKits, 4));

        // 2:1: a starter of 6 holds 4 and 2.
        var twoToOne = StudyFiles.Valid(StudyFiles.Lj with { Arms = [.. StudyFiles.Lj.Arms!.Select((a, i) => a! with { Ratio = i == 0 ? 2 : 1 })], Randomization = StudyFiles.Lj.Randomization! with { BlockSizes = [6] } });
        Assert.Equal([4, 2], SubjectPacks.StarterKits(twoToOne, 6));
        Assert.NotNull(SubjectPacks.InvalidStarterSize(twoToOne, 4));
    }
}
