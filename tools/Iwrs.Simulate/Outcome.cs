namespace Iwrs.Simulate;

/// <summary>
/// What one simulated trial did under one policy. Kits are conserved: every kit shipped to a site is dispensed,
/// reported damaged, expired on the shelf (past the do-not-dispense limit), quarantined at a stock-out hold, left
/// at a site (on the shelf or on the way) when the site closes, or (subject packs only) left in a starter it retired
/// or in a stopped subject's pack.
/// </summary>
internal sealed class RunOutcome
{
    public int KitsShipped { get; set; }

    /// <summary>Kits made for the depot (all lots, every type): what the study had to manufacture.</summary>
    public int KitsProduced { get; set; }
    public int KitsDispensed { get; set; }
    public int KitsDamaged { get; set; }
    public int KitsExpired { get; set; }
    public int KitsLeft { get; set; }

    /// <summary>Kits taken off a blinded site's shelf when a stock-out hold started there (<see cref="Iwrs.Domain.Supply.SupplyHold.Quarantines"/>).</summary>
    public int KitsQuarantined { get; set; }

    /// <summary>Subject packs: kits left in a starter shipment retired once it had served its capacity (or lost it to damage).</summary>
    public int StarterKitsRetired { get; set; }

    /// <summary>Subject packs: kits left in a subject's pack (or on the way to it) when the subject stopped treatment.</summary>
    public int PackKitsUnused { get; set; }
    public int Shipments { get; set; }
    public int UrgentShipments { get; set; }

    /// <summary>Supply holds started (a site going on hold), for any reason.</summary>
    public int Holds { get; set; }

    /// <summary>Holds started by a stock-out: a type short for one visit at a randomization or dispensing. The levels decide these.</summary>
    public int StockOutHolds { get; set; }

    /// <summary>Kits set aside after losses (damaged kits in a released shipment) until their replacement is released: a loss holds no site.</summary>
    public int KitsSetAside { get; set; }

    public int StockOutHoldDays { get; set; }

    public int ReplacementShipments { get; set; }

    /// <summary>Holds that follow kits of a short type passing the do-not-dispense limit (within a lead time).</summary>
    public int HoldsAfterExpiry { get; set; }

    public int HoldDays { get; set; }

    /// <summary>Days each site was active, summed over sites (day 0 to the site's close-out).</summary>
    public int SiteDays { get; set; }

    public int Randomized { get; set; }

    /// <summary>Subjects refused randomization by a hold that did not lift within their wait.</summary>
    public int LostRandomizations { get; set; }

    /// <summary>Dispensing visits refused by a hold and done later in the window.</summary>
    public int DelayedVisits { get; set; }

    /// <summary>Dispensing visits refused by a hold that lasted past the window: the cycle's kit was never given.</summary>
    public int MissedVisits { get; set; }

    /// <summary>Shipments the depot could not fill (not enough shippable kits of a type); retried at the next check.</summary>
    public int DepotShortfalls { get; set; }

    public int StudyDays { get; set; }

    /// <summary>Dispensings (randomizations and visits) that took kits.</summary>
    public int Draws { get; set; }

    /// <summary>Dispensings where a shipment on the shelf had usable kits but none of the subject's type.</summary>
    public int RestrictedDraws { get; set; }

    /// <summary>
    /// Over blinded dispensings, the sum and the largest of the distance between arms of the kit's shipment
    /// (<c>SupplyRun.ArmDistance</c>).
    /// </summary>
    public double ArmDistanceSum { get; set; }

    public double ArmDistanceMax { get; set; }

    /// <summary>Pairs of kits within one shipment, summed over blinded shipments, and those of one type.</summary>
    public long KitPairs { get; set; }

    public long KitPairsSameType { get; set; }

    public int KitsWasted => KitsShipped - KitsDispensed;

    public bool IsConserved => KitsShipped == KitsDispensed + KitsDamaged + KitsExpired + KitsLeft + KitsQuarantined + StarterKitsRetired + PackKitsUnused;
}

/// <summary>Many runs of one policy, pooled: waste is total kits never dispensed over total kits shipped.</summary>
internal sealed class Summary(string policy)
{
    public string Policy { get; } = policy;
    public int Runs { get; private set; }
    public int RunsWithHold { get; private set; }
    public int RunsWithStockOutHold { get; private set; }
    public long KitsShipped { get; private set; }
    public long KitsProduced { get; private set; }
    public long KitsDispensed { get; private set; }
    public long KitsDamaged { get; private set; }
    public long KitsExpired { get; private set; }
    public long KitsLeft { get; private set; }
    public long KitsQuarantined { get; private set; }
    public long StarterKitsRetired { get; private set; }
    public long PackKitsUnused { get; private set; }
    public long Shipments { get; private set; }
    public long UrgentShipments { get; private set; }
    public long Holds { get; private set; }
    public long StockOutHolds { get; private set; }
    public long KitsSetAside { get; private set; }
    public long StockOutHoldDays { get; private set; }
    public long ReplacementShipments { get; private set; }
    public long HoldsAfterExpiry { get; private set; }
    public long HoldDays { get; private set; }
    public long SiteDays { get; private set; }
    public long Randomized { get; private set; }
    public long LostRandomizations { get; private set; }
    public long DelayedVisits { get; private set; }
    public long MissedVisits { get; private set; }
    public long DepotShortfalls { get; private set; }
    public long StudyDays { get; private set; }
    public long Draws { get; private set; }
    public long RestrictedDraws { get; private set; }
    public double ArmDistanceSum { get; private set; }
    public double ArmDistanceMax { get; private set; }
    public long KitPairs { get; private set; }
    public long KitPairsSameType { get; private set; }

    public void Add(RunOutcome run)
    {
        ArgumentNullException.ThrowIfNull(run);
        Runs++;
        RunsWithHold += run.Holds > 0 ? 1 : 0;
        RunsWithStockOutHold += run.StockOutHolds > 0 ? 1 : 0;
        KitsShipped += run.KitsShipped;
        KitsProduced += run.KitsProduced;
        KitsDispensed += run.KitsDispensed;
        KitsDamaged += run.KitsDamaged;
        KitsExpired += run.KitsExpired;
        KitsLeft += run.KitsLeft;
        KitsQuarantined += run.KitsQuarantined;
        StarterKitsRetired += run.StarterKitsRetired;
        PackKitsUnused += run.PackKitsUnused;
        Shipments += run.Shipments;
        UrgentShipments += run.UrgentShipments;
        Holds += run.Holds;
        StockOutHolds += run.StockOutHolds;
        KitsSetAside += run.KitsSetAside;
        StockOutHoldDays += run.StockOutHoldDays;
        ReplacementShipments += run.ReplacementShipments;
        HoldsAfterExpiry += run.HoldsAfterExpiry;
        HoldDays += run.HoldDays;
        SiteDays += run.SiteDays;
        Randomized += run.Randomized;
        LostRandomizations += run.LostRandomizations;
        DelayedVisits += run.DelayedVisits;
        MissedVisits += run.MissedVisits;
        DepotShortfalls += run.DepotShortfalls;
        StudyDays += run.StudyDays;
        Draws += run.Draws;
        RestrictedDraws += run.RestrictedDraws;
        ArmDistanceSum += run.ArmDistanceSum;
        ArmDistanceMax = Math.Max(ArmDistanceMax, run.ArmDistanceMax);
        KitPairs += run.KitPairs;
        KitPairsSameType += run.KitPairsSameType;
    }

    /// <summary>
    /// The mean distance between arms of a dispensed kit's shipment, in percent: someone who knew every kit's type on
    /// the shelf would guess a subject's arm from it right ½ + ½ × this of the time. 0 when the kit choice hides the arm.
    /// </summary>
    public double ArmDistancePercent => Draws == 0 ? 0 : 100.0 * ArmDistanceSum / Draws;

    /// <summary>Of pairs of kits in one shipment, the percentage of one type.</summary>
    public double SameTypeInShipmentPercent => KitPairs == 0 ? 0 : 100.0 * KitPairsSameType / KitPairs;

    public double RestrictedPercent => Draws == 0 ? 0 : 100.0 * RestrictedDraws / Draws;

    /// <summary>Kits shipped to sites and never dispensed, in percent of kits shipped.</summary>
    public double WastePercent => KitsShipped == 0 ? 0 : 100.0 * (KitsShipped - KitsDispensed) / KitsShipped;

    /// <summary>Fraction of runs in which any site went on a stock-out supply hold at least once: what the levels decide.</summary>
    public double HoldProbability => Runs == 0 ? 0 : (double)RunsWithStockOutHold / Runs;

    /// <summary>Fraction of runs with any hold, lost-kit holds included.</summary>
    public double AnyHoldProbability => Runs == 0 ? 0 : (double)RunsWithHold / Runs;

    /// <summary>Days of stock-out hold per site-year.</summary>
    public double HoldDaysPerSiteYear => SiteDays == 0 ? 0 : StockOutHoldDays / (SiteDays / 365.25);

    public double AnyHoldDaysPerSiteYear => SiteDays == 0 ? 0 : HoldDays / (SiteDays / 365.25);

    public double ShipmentsPerSiteMonth => SiteDays == 0 ? 0 : Shipments / (SiteDays / Scenario.DaysPerMonth);

    public double Per(long total) => Runs == 0 ? 0 : (double)total / Runs;
}
