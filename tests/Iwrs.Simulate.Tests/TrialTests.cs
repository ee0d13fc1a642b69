using Iwrs.Domain.Randomization;

namespace Iwrs.Simulate.Tests;

public sealed class TrialTests
{
    [Fact]
    public void Draw_SameSeedAndRun_SameTrial()
    {
        var scenario = Scenario.For(SimulatedStudies.Lj);
        var a = Trial.Draw(SimulatedStudies.Lj, scenario, 5, 17);
        var b = Trial.Draw(SimulatedStudies.Lj, scenario, 5, 17);
        Assert.Equal(a.Candidates.Select(Describe), b.Candidates.Select(Describe));
        Assert.Equal(a.ArmsByStratum.OrderBy(kv => kv.Key).SelectMany(kv => kv.Value), b.ArmsByStratum.OrderBy(kv => kv.Key).SelectMany(kv => kv.Value));
    }

    [Fact]
    public void Draw_AnotherRun_AnotherTrial()
    {
        var scenario = Scenario.For(SimulatedStudies.Lj);
        var a = Trial.Draw(SimulatedStudies.Lj, scenario, 5, 17);
        var b = Trial.Draw(SimulatedStudies.Lj, scenario, 5, 18);
        Assert.NotEqual(a.Candidates.Select(Describe), b.Candidates.Select(Describe));
    }

    [Fact]
    public void Draw_Candidates_InArrivalOrderFromTheOpeningDay_WithinTheProtocol()
    {
        var study = SimulatedStudies.Lj;
        var scenario = Scenario.For(study);
        var trial = Trial.Draw(study, scenario, 1, 0);
        var schedule = study.VisitSchedule;
        Assert.True(trial.Candidates.Count > scenario.Subjects, "more people arrive than the study needs, for those lost to holds");
        Assert.All(trial.Candidates.Zip(trial.Candidates.Skip(1)), p => Assert.True(p.First.Day <= p.Second.Day));
        Assert.All(trial.Candidates, c =>
        {
            Assert.True(c.Day >= Trial.OpeningDay(scenario, study));
            Assert.InRange(c.Visits, 1, schedule.DispensingVisits);
            Assert.All(c.Jitter, j => Assert.InRange(j, -schedule.WindowDays, schedule.WindowDays));
            Assert.Contains(c.StratumKey, Strata.All(study).Select(s => s.Key));
        });
    }

    [Fact]
    public void Draw_Visits_FollowTheStopHazard()
    {
        // Mean dispensing visits of a geometric treatment length capped at the protocol's visits.
        var study = SimulatedStudies.Lj;
        var scenario = Scenario.For(study) with { Subjects = 2_000, SubjectsPerMonth = 500 };
        var stop = scenario.StopPerCycle(study.VisitSchedule.CycleLengthDays);
        var n = study.VisitSchedule.DispensingVisits;
        var expected = (1 - Math.Pow(1 - stop, n)) / stop;
        var mean = Trial.Draw(study, scenario, 1, 0).Candidates.Average(c => c.Visits);
        Assert.InRange(mean, expected * 0.95, expected * 1.05);
    }

    [Fact]
    public void Draw_ArmsPerStratum_TheStudysPermutedBlocks()
    {
        // Every complete block of the generated list is balanced 1:1; the simulator takes arms in list order.
        var trial = Trial.Draw(SimulatedStudies.Lj, Scenario.For(SimulatedStudies.Lj), 1, 0);
        Assert.Equal(4, trial.ArmsByStratum.Count);
        Assert.All(trial.ArmsByStratum.Values, arms =>
        {
            Assert.True(arms.Count >= 150);
            var lj = arms.Take(120).Count(a => a == "LJ");
            Assert.InRange(lj, 57, 63);
        });
    }

    [Fact]
    public void Draw_SingleArmStudy_OneStratumNoList()
    {
        var trial = Trial.Draw(SimulatedStudies.Akk, Scenario.For(SimulatedStudies.Akk), 1, 0);
        Assert.All(trial.Candidates, c => Assert.Equal(Strata.AllKey, c.StratumKey));
        Assert.All(trial.Candidates, c => Assert.Equal(0, c.SiteIndex));
    }

    private static string Describe(Candidate c) => $"{c.SiteIndex}@{c.Day}:{c.StratumKey}:{c.Visits}:{string.Join(',', c.Jitter)}";
}
