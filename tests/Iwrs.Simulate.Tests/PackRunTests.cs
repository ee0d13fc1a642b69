using Iwrs.Domain.Studies;

namespace Iwrs.Simulate.Tests;

/// <summary>
/// The subject-pack rows' accounting, checked against the run's own trace: every kit shipped is dispensed or in one
/// waste component, a starter never serves more randomizations than its public capacity, a subject's later kits come
/// from their own pack, and one shipment is counted per site and day.
/// </summary>
public sealed class PackRunTests
{
    [Theory]
    [InlineData("studies/lj-mcrc.json", 1)]
    [InlineData("studies/lj-mcrc.json", 2)]
    [InlineData("studies/lj-mcrc.json", 3)]
    [InlineData("studies/akk-mcrc.json", 1)]
    [InlineData("studies/akk-mcrc.json", 3)]
    public void Packs_EveryKitShipped_DispensedOrInOneWasteComponent(string path, int visits)
    {
        var study = SimulatedStudies.Load(path);
        var scenario = Scenario.For(study) with { DamagePerKit = 0.02 };
        for (var run = 0; run < 5; run++)
        {
            var (outcome, trace) = Simulate(study, scenario, new PackDesign(visits), run);
            Assert.Equal(
                outcome.KitsShipped,
                outcome.KitsDispensed + outcome.KitsDamaged + outcome.KitsExpired + outcome.KitsLeft + outcome.StarterKitsRetired + outcome.PackKitsUnused);
            Assert.True(outcome.IsConserved);
            Assert.Equal(0, outcome.KitsQuarantined);
            Assert.Equal(outcome.KitsShipped, trace.Shipments.Sum(s => s.Kits));
            Assert.Equal(outcome.KitsDispensed, trace.Dispensings.Count);
            Assert.True(outcome.StarterKitsRetired + outcome.PackKitsUnused > 0);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(0.05)]
    public void Packs_StarterNeverServesMoreThanItsCapacity(double damage)
    {
        var study = SimulatedStudies.Lj;
        var scenario = Scenario.For(study) with { DamagePerKit = damage };
        for (var run = 0; run < 5; run++)
        {
            var (outcome, trace) = Simulate(study, scenario, new PackDesign(2), run);

            // Every starter shipped leaves the shelf once, and its randomizations are the draws the trace saw from it.
            Assert.Equal(trace.Shipments.Sum(s => s.Starters), trace.Starters.Count);
            Assert.Equal(trace.Starters.Count, trace.Starters.Select(s => s.Id).Distinct().Count());
            var drawn = trace.Dispensings.Where(d => d.Starter is not null).GroupBy(d => d.Starter!).ToDictionary(g => g.Key, g => g.Count());
            foreach (var starter in trace.Starters)
            {
                var capacity = starter.Shipped - starter.Damaged;
                Assert.Equal(drawn.GetValueOrDefault(starter.Id), starter.Served);
                Assert.InRange(starter.Served, 0, capacity);
                Assert.All(starter.KitsLeft, left => Assert.True(left >= 0));

                // A starter retired as used served its whole capacity and kept the rest: 2 of each type less what it lost.
                if (starter.Reason == "used")
                {
                    Assert.Equal(capacity, starter.Served);
                    Assert.Equal((2 * 2) - starter.Damaged - starter.Served, starter.KitsLeft.Sum());
                }
            }

            Assert.Equal(trace.Starters.Where(s => s.Reason is "used" or "damaged").Sum(s => s.KitsLeft.Sum()), outcome.StarterKitsRetired);
            Assert.Equal(outcome.Randomized, trace.Dispensings.Count(d => d.Starter is not null));
        }
    }

    [Fact]
    public void Packs_LaterKitsComeFromTheSubjectsOwnPack_OfTheirArmsType()
    {
        var study = SimulatedStudies.Lj;
        var scenario = Scenario.For(study) with { DamagePerKit = 0.02 };
        var (_, trace) = Simulate(study, scenario, new PackDesign(3), 0);
        var bySubject = trace.Dispensings.GroupBy(d => d.Subject).ToList();
        Assert.Equal(scenario.Subjects, bySubject.Count);
        foreach (var subject in bySubject)
        {
            var kits = subject.OrderBy(d => d.Visit).ToList();
            Assert.Equal(1, kits[0].Visit);
            Assert.NotNull(kits[0].Starter);
            Assert.All(kits.Skip(1), d =>
            {
                Assert.Null(d.Starter);
                Assert.Equal(subject.Key, d.PackOwner);
            });

            // One type throughout: the randomization's kit from the starter and every pack kit are the arm's.
            Assert.Single(kits.Select(d => d.Type).Distinct());
            Assert.Equal(kits.Count, kits.Select(d => d.Visit).Distinct().Count());
        }

        Assert.Contains(trace.Dispensings, d => d.Visit > 1);
    }

    [Fact]
    public void Packs_ShipmentsCountedOncePerSiteAndDay()
    {
        var study = SimulatedStudies.Lj;
        var scenario = Scenario.For(study) with { DamagePerKit = 0.02 };
        var (outcome, trace) = Simulate(study, scenario, new PackDesign(1), 0);
        Assert.Equal(outcome.Shipments, trace.Shipments.Count);
        Assert.Equal(trace.Shipments.Count, trace.Shipments.Select(s => (s.Site, s.Day)).Distinct().Count());

        // Packs of several subjects, and starters with packs, do travel together.
        Assert.Contains(trace.Shipments, s => s.Packs > 1);
        Assert.Contains(trace.Shipments, s => s.Packs > 0 && s.Starters > 0);
        Assert.Equal(outcome.ReplacementShipments, trace.Shipments.Count(s => s.Replacement));
        Assert.True(outcome.ReplacementShipments > 0);
    }

    [Fact]
    public void Packs_WaitingForTheirLastDay_TravelTogether_AndNoVisitWaitsForOne()
    {
        // Shipped on its last day (SubjectPacks.PackShipBy), a pack still reaches the shelf before its visit's window
        // opens, and a site's packs leave together: the same kits dispensed on the same visits as packs shipped at once,
        // in far fewer shipments.
        var study = SimulatedStudies.Lj;
        var scenario = Scenario.For(study) with { DamagePerKit = 0 };
        for (var run = 0; run < 5; run++)
        {
            var trial = Trial.Draw(study, scenario, 1, run);
            var (late, lateTrace) = Simulate(study, scenario, new PackDesign(1), run, trial);
            var (once, onceTrace) = Simulate(study, scenario, new PackDesign(1, AtOnce: true), run, trial);

            Assert.Equal(0, late.DelayedVisits + late.MissedVisits + once.DelayedVisits + once.MissedVisits);
            Assert.Equal(onceTrace.Dispensings.Select(d => (d.Subject, d.Visit, d.Day)), lateTrace.Dispensings.Select(d => (d.Subject, d.Visit, d.Day)));
            Assert.True(late.Shipments * 2 < once.Shipments, $"{late.Shipments} shipments waiting against {once.Shipments} at once");
            Assert.True(lateTrace.Shipments.Average(s => s.Packs) > 2 * onceTrace.Shipments.Average(s => s.Packs));
        }
    }

    [Fact]
    public void Packs_OneVisitPerPack_NoDamage_WasteIsOneKitPerSubjectWhoStopsEarly_AndHalfOfEachStarterUsed()
    {
        var study = SimulatedStudies.Lj;
        var scenario = Scenario.For(study) with { DamagePerKit = 0 };
        for (var run = 0; run < 5; run++)
        {
            var trial = Trial.Draw(study, scenario, 1, run);
            var (outcome, trace) = Simulate(study, scenario, new PackDesign(1), run, trial);
            var randomized = trace.Dispensings.Where(d => d.Visit == 1).Select(d => trial.Candidates[d.Subject]).ToList();

            // The kit for the visit that finds progression was shipped before anyone knew; a subject who has all 35 visits has none.
            Assert.Equal(randomized.Count(c => c.Visits < study.VisitSchedule.DispensingVisits), outcome.PackKitsUnused);
            Assert.Equal(randomized.Sum(c => c.Visits), outcome.KitsDispensed);

            // 2 + 2 kits serve 2 randomizations: the other 2 are never dispensed.
            var used = trace.Starters.Where(s => s.Reason == "used").ToList();
            Assert.All(used, s => Assert.Equal(2, s.Served));
            Assert.Equal(2 * used.Count, outcome.StarterKitsRetired);
            Assert.Equal(0, outcome.KitsDamaged);
            Assert.Equal(0, outcome.MissedVisits);
            Assert.Equal(0, outcome.KitsExpired);
        }
    }

    [Fact]
    public void Packs_NoStarterTrigger_HoldsRandomizations_AsStockOutHolds()
    {
        // Trigger 0: a starter is ordered only when a subject finds no capacity (urgently), so most randomizations wait.
        var study = SimulatedStudies.Lj;
        var scenario = Scenario.For(study) with { DamagePerKit = 0 };
        var summary = Simulation.Run(study, scenario, [Policy.ForPacks(new PackDesign(1, StarterTrigger: 0))], 5, 1).Single();
        Assert.True(summary.StockOutHolds > 10);
        Assert.Equal(summary.Holds, summary.StockOutHolds);
        Assert.Equal(1, summary.HoldProbability);
        Assert.True(summary.HoldDaysPerSiteYear > 0);
        Assert.True(summary.UrgentShipments > 0);
        Assert.Equal(summary.KitsShipped, summary.KitsDispensed + summary.KitsDamaged + summary.KitsExpired + summary.KitsLeft + summary.StarterKitsRetired + summary.PackKitsUnused);
    }

    [Fact]
    public void Packs_OpenLabel_StarterServesEveryKit()
    {
        // One type: a starter's capacity is all its kits, so none is retired unused.
        var study = SimulatedStudies.Akk;
        var scenario = Scenario.For(study) with { DamagePerKit = 0 };
        for (var run = 0; run < 5; run++)
        {
            var (outcome, trace) = Simulate(study, scenario, new PackDesign(2), run);
            Assert.Equal(0, outcome.StarterKitsRetired);
            Assert.Equal(scenario.Subjects, outcome.Randomized);
            Assert.All(trace.Starters.Where(s => s.Reason == "used"), s => Assert.Equal(2, s.Served));
        }
    }

    [Fact]
    public void Packs_SameTrialsAsTheShelf_SameKitsDispensed()
    {
        // Without damage nor holds, every row dispenses the same visits: the packs meet the shelf's people.
        var study = SimulatedStudies.Load("studies/lj-mcrc.json", 40, 60);
        var scenario = Scenario.For(study) with { DamagePerKit = 0 };
        var policies = Policy.Compared(true).Where(p => p.Packs is not null || p == Policy.Compared(true)[0]).ToList();
        Assert.Equal(5, policies.Count);
        var summaries = Simulation.Run(study, scenario, policies, 10, 1);
        Assert.All(summaries, s => Assert.Equal(0, s.Holds));
        Assert.Single(summaries.Select(s => s.KitsDispensed).Distinct());
        Assert.Single(summaries.Select(s => s.Randomized).Distinct());
    }

    [Fact]
    public void StarterKits_InTheRatio_AndSizesThatDoNotSplitAreRefused()
    {
        Assert.Equal([2, 2], new PackDesign(1).StarterKits(SimulatedStudies.Lj));
        Assert.Equal([3, 3], new PackDesign(1, StarterSize: 6).StarterKits(SimulatedStudies.Lj));
        Assert.Equal([2], new PackDesign(1).StarterKits(SimulatedStudies.Akk));
        Assert.NotNull(PackDesign.Invalid(SimulatedStudies.Lj, 5));
        Assert.Null(PackDesign.Invalid(SimulatedStudies.Lj, 6));
        Assert.Null(PackDesign.Invalid(SimulatedStudies.Akk, 5));
        Assert.Null(PackDesign.Invalid(SimulatedStudies.Lj, null));
    }

    private static (RunOutcome Outcome, PackTrace Trace) Simulate(StudyConfiguration study, Scenario scenario, PackDesign design, int run, Trial? trial = null)
    {
        var trace = new PackTrace();
        var outcome = PackRun.Simulate(study, scenario, trial ?? Trial.Draw(study, scenario, 1, run), Policy.ForPacks(design), 1, run, trace: trace);
        return (outcome, trace);
    }
}
