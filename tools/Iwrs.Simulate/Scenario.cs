using Iwrs.Domain.Studies;

namespace Iwrs.Simulate;

/// <summary>
/// What the study file does not say and a supply simulation needs: how fast subjects come, how long they stay, how
/// the depot is stocked and how shipments fare. Every value is a modelling assumption; the reasons are on the presets
/// (<see cref="For"/>) and in studies/README.md ("Supply levels").
/// </summary>
internal sealed record Scenario
{
    /// <summary>Subjects randomized (enrolled) before enrolment closes.</summary>
    public required int Subjects { get; init; }

    /// <summary>Planned subjects per month, all sites together.</summary>
    public required double SubjectsPerMonth { get; init; }

    /// <summary>
    /// Each run draws each site's rate as planned × uniform(1 − spread, 1 + spread): real sites recruit faster or
    /// slower than planned, and levels that only work at the planned rate are not safe.
    /// </summary>
    public double RateSpread { get; init; } = 0.5;

    /// <summary>
    /// Share of the planned rate per site, in site order (normalized). Empty: equal shares. The first entry is the
    /// lead site when given.
    /// </summary>
    public IReadOnlyList<double> SiteShares { get; init; } = [];

    /// <summary>Median progression-free survival: progression, found at a cycle visit, ends treatment (exponential PFS).</summary>
    public required double MedianPfsMonths { get; init; }

    /// <summary>Other reasons to stop each cycle (toxicity, withdrawal, death without progression).</summary>
    public double OtherStopPerCycle { get; init; } = 0.02;

    /// <summary>
    /// Shelf life a lot has left when it reaches the depot: 24 months, usual for refrigerated lyophilised probiotic
    /// capsules. Shorter lives, or larger lots that age at the depot, put more kits past their limit on site shelves.
    /// </summary>
    public int ShelfLifeDays { get; init; } = 730;

    /// <summary>Kits of each type per lot.</summary>
    public required int LotSize { get; init; }

    /// <summary>
    /// The depot orders a lot of a type when fewer kits than this will still be shippable once a new lot could be
    /// made (<see cref="ProductionLeadDays"/> later). Before day 0 it is stocked above this point. Sized so the depot
    /// never runs short: the simulation is about site levels, and its output reports depot shortfalls.
    /// </summary>
    public required int ReorderPoint { get; init; }

    /// <summary>Manufacture, QC and release of a new lot.</summary>
    public int ProductionLeadDays { get; init; } = 90;

    /// <summary>
    /// Chance that a kit is reported damaged when its shipment is received (a broken bottle, a temperature excursion).
    /// Kits damaged or lost on the shelf later are not simulated.
    /// </summary>
    public double DamagePerKit { get; init; } = 0.005;

    /// <summary>A shipment with a damaged kit waits this many days (either, uniformly) for the depot manager's release.</summary>
    public int ReleaseDelayMinDays { get; init; } = 1;

    public int ReleaseDelayMaxDays { get; init; } = 2;

    /// <summary>A subject refused randomization by a supply hold waits this long (screening stays valid), then is lost.</summary>
    public int RandomizationWaitDays { get; init; } = 7;

    /// <summary>The first simulated day (a fixed date: nothing reads the clock).</summary>
    public DateOnly Start { get; init; } = new(2027, 1, 4);

    /// <summary>Per-cycle probability that a subject stops before the next dispensing visit.</summary>
    public double StopPerCycle(int cycleLengthDays)
    {
        var cyclesToMedian = MedianPfsMonths * DaysPerMonth / cycleLengthDays;
        var progression = 1 - Math.Pow(0.5, 1 / cyclesToMedian);
        return 1 - ((1 - progression) * (1 - OtherStopPerCycle));
    }

    public const double DaysPerMonth = 365.25 / 12;

    /// <summary>
    /// The presets for the seed studies; any other study gets a generic scenario (30 subjects per site, 2 per site
    /// per month, median PFS 6 months) to be overridden from the command line.
    /// </summary>
    public static Scenario For(StudyConfiguration study)
    {
        ArgumentNullException.ThrowIfNull(study);
        var sites = study.Sites.Count(s => s.Active);
        return study.StudyId switch
        {
            // Seed 001: randomized 1:1, the lists sized for 150 subjects (studies/lj-mcrc.json). Three sites at about
            // 2.5 subjects a month each (the lead site a little more): 7.5 a month, 150 in about 20 months. CapeOX +
            // pembrolizumab after failed standard therapy in MSS/pMMR mCRC: median PFS about 4 months (immunotherapy
            // combinations in refractory MSS mCRC report 2-6 months). Peak demand is 30-50 kits of each type a month;
            // lots of 100 (about 3 months' worth) keep kits young, and 200 in reserve cover the 90 days a lot takes.
            "LJ-MCRC" => new Scenario
            {
                Subjects = 150,
                SubjectsPerMonth = 7.5,
                SiteShares = [0.4, 0.3, 0.3],
                MedianPfsMonths = 4.0,
                LotSize = 100,
                ReorderPoint = 200,
            },

            // Seed 000: 22 patients, one centre, phase I. About 2 a month (11 months of accrual). Anti-PD-1 with a TKI
            // or chemotherapy after failed standard therapy: median PFS about 3.5 months. Peak demand about 15-25 kits
            // a month; lots of 50, 100 in reserve.
            "AKK-MCRC" => new Scenario
            {
                Subjects = 22,
                SubjectsPerMonth = 2.0,
                MedianPfsMonths = 3.5,
                LotSize = 50,
                ReorderPoint = 100,
            },

            _ => new Scenario
            {
                Subjects = 30 * Math.Max(1, sites),
                SubjectsPerMonth = 2.0 * Math.Max(1, sites),
                MedianPfsMonths = 6.0,
                LotSize = 200,
                ReorderPoint = 100,
            },
        };
    }
}
