using Iwrs.Domain.Studies;
using Iwrs.Domain.Supply;

namespace Iwrs.Domain.Tests.Supply;

public sealed class DispensabilityTests
{
    [Fact]
    public void EarliestAllowedExpiry_LjSeed_IsTodayPlusCyclePlusWindowPlusDoNotDispense()
    {
        var study = SupplyStudies.LjStudy;

        var earliest = Dispensability.EarliestAllowedExpiry(SupplyStudies.Today, study.VisitSchedule, study.Supply);

        // 21-day cycle + 3-day window + 7 do-not-dispense days.
        Assert.Equal(SupplyStudies.Today.AddDays(21 + 3 + 7), earliest);
        Assert.Equal(new DateOnly(2026, 4, 1), earliest);
    }

    [Fact]
    public void EarliestShippableExpiry_LjSeed_AddsLeadTimeFirst()
    {
        var study = SupplyStudies.LjStudy;

        var earliest = Dispensability.EarliestShippableExpiry(SupplyStudies.Today, study.VisitSchedule, study.Supply);

        // 5 days on the road, then dispensable on arrival: 21 + 3 + 7.
        Assert.Equal(SupplyStudies.Today.AddDays(5 + 21 + 3 + 7), earliest);
        Assert.Equal(new DateOnly(2026, 4, 6), earliest);
    }

    [Theory]
    [InlineData(28, 2, 0, 10, 30, 40)]
    [InlineData(14, 0, 30, 0, 44, 44)]
    [InlineData(1, 0, 0, 0, 1, 1)]
    [InlineData(21, 3, 7, 365, 31, 396)]
    public void EarliestExpiry_EachTermChanged_MovesByThatTerm(int cycle, int window, int dnd, int lead, int allowedDays, int shippableDays)
    {
        var schedule = new VisitSchedule("C", cycle, window, 10, 1);
        var supply = new SupplySettings(2, 6, lead, dnd);
        var today = new DateOnly(2026, 12, 20);

        Assert.Equal(today.AddDays(allowedDays), Dispensability.EarliestAllowedExpiry(today, schedule, supply));
        Assert.Equal(today.AddDays(shippableDays), Dispensability.EarliestShippableExpiry(today, schedule, supply));
    }

    [Fact]
    public void EarliestAllowedExpiry_AcrossYearEnd_RollsIntoNextYear()
    {
        var study = SupplyStudies.AkkStudy;

        Assert.Equal(new DateOnly(2027, 1, 31), Dispensability.EarliestAllowedExpiry(new DateOnly(2026, 12, 31), study.VisitSchedule, study.Supply));
        Assert.Equal(new DateOnly(2027, 2, 5), Dispensability.EarliestShippableExpiry(new DateOnly(2026, 12, 31), study.VisitSchedule, study.Supply));
    }

    [Fact]
    public void EarliestAllowedExpiry_TriggerAndMaximum_DoNotMatter()
    {
        var schedule = SupplyStudies.LjStudy.VisitSchedule;
        var a = Dispensability.EarliestAllowedExpiry(SupplyStudies.Today, schedule, new SupplySettings(1, 2, 5, 7));
        var b = Dispensability.EarliestAllowedExpiry(SupplyStudies.Today, schedule, new SupplySettings(50, 100, 5, 7));

        Assert.Equal(a, b);
    }

    // Two lead times (a shipment ordered now, and the replacement it orders if it loses a kit at receipt), the next
    // check and a release wait; a lead time of 0 counts as 1 day.
    [Theory]
    [InlineData(5, 13)]
    [InlineData(0, 5)]
    [InlineData(10, 23)]
    public void EarliestCountedExpiry_LooksTwoLeadTimesAndMarginAhead(int leadDays, int aheadDays)
    {
        var study = SupplyStudies.LjStudy;
        var supply = study.Supply with { LeadTimeDays = leadDays };
        Assert.Equal(
            Dispensability.EarliestAllowedExpiry(SupplyStudies.Today.AddDays(aheadDays), study.VisitSchedule, supply),
            Dispensability.EarliestCountedExpiry(SupplyStudies.Today, study.VisitSchedule, supply));
        Assert.True(Dispensability.EarliestCountedExpiry(SupplyStudies.Today, study.VisitSchedule, supply) > Dispensability.EarliestShippableExpiry(SupplyStudies.Today, study.VisitSchedule, supply));
    }
}
