using System.Globalization;
using System.Text;
using Iwrs.Domain.Studies;
using Iwrs.Domain.Supply;

namespace Iwrs.Simulate;

/// <summary>The simulator's stdout: the study and scenario, one row per policy, and the one-line summary last.</summary>
internal static class Report
{
    public static string Text(StudyConfiguration study, Scenario scenario, Options options, IReadOnlyList<Summary> summaries, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(summaries);
        var s = study.Supply;
        var v = study.VisitSchedule;
        var text = new StringBuilder();
        void Line(FormattableString line) => text.Append(line.ToString(CultureInfo.InvariantCulture)).Append('\n');

        var first = summaries[0];
        Line($"{study.StudyId}: {first.Runs} runs, seed {options.Seed}, {elapsed.TotalSeconds:F1} s");
        Line($"  design: {(study.IsBlinded ? "blinded" : "open-label")}, {study.KitTypes.Count} kit type(s), {study.Sites.Count(x => x.Active)} active site(s); cycle {v.CycleLengthDays} d ±{v.WindowDays}, up to {v.DispensingVisits} dispensing visits of {v.KitsPerVisit} kit(s)");
        Line($"  levels per site, all kit types together: trigger {s.TriggerLevel}, maximum {s.MaximumLevel}; lead time {s.LeadTimeDays} d; do-not-dispense {s.DoNotDispenseDays} d");
        Line($"  scenario: {scenario.Subjects} subjects at {scenario.SubjectsPerMonth:0.##}/month (each site's rate x{1 - scenario.RateSpread:0.##}-{1 + scenario.RateSpread:0.##} per run), median PFS {scenario.MedianPfsMonths:0.#} months + {scenario.OtherStopPerCycle:P0}/cycle other stops ({scenario.StopPerCycle(v.CycleLengthDays):P1}/cycle)");
        Line($"  depot: lots of {scenario.LotSize} per type, reordered below {scenario.ReorderPoint} still shippable in {scenario.ProductionLeadDays} d, {scenario.ShelfLifeDays} d shelf life at the depot, {first.Per(first.KitsProduced):F0} kits made per run; damaged on receipt {scenario.DamagePerKit:P1}/kit, release {scenario.ReleaseDelayMinDays}-{scenario.ReleaseDelayMaxDays} d");
        Line($"  composition sees subjects on treatment: {(options.SeesOnTreatment ? "yes" : "no")}; per run: {first.Per(first.Randomized):F1} subjects randomized, study {first.Per(first.StudyDays) / Scenario.DaysPerMonth:F1} months");
        Line($"");
        Line($"  {"kits per run",-28} {"shipped",8} {"dispensed",9} {"waste",6} {"expired",7} {"damaged",7} {"left",6} | shipments per site-month (urgent, replacement per run) | depot short per run");
        foreach (var x in summaries)
        {
            Line($"  {x.Policy,-28} {x.Per(x.KitsShipped),8:F1} {x.Per(x.KitsDispensed),9:F1} {x.WastePercent,5:F1}% {x.Per(x.KitsExpired),7:F1} {x.Per(x.KitsDamaged),7:F1} {x.Per(x.KitsLeft),6:F1} | {x.ShipmentsPerSiteMonth,5:F2} ({x.Per(x.UrgentShipments):F2}, {x.Per(x.ReplacementShipments):F2}) | {x.Per(x.DepotShortfalls):F2}");
        }

        Line($"  stock-out holds              {"P(run)",7} {"per run",7} {"expiry",6} {"d/site-yr",9} | all holds, lost kits too: P(run) d/site-yr | visits missed, randomizations lost per run");
        foreach (var x in summaries)
        {
            Line($"  {x.Policy,-28} {x.HoldProbability,7:F3} {x.Per(x.StockOutHolds),7:F3} {x.Per(x.HoldsAfterExpiry),6:F3} {x.HoldDaysPerSiteYear,9:F3} | {x.AnyHoldProbability,5:F3} {x.AnyHoldDaysPerSiteYear,6:F2} | {x.Per(x.MissedVisits):F3}, {x.Per(x.LostRandomizations):F3}");
        }

        var packs = summaries.Where(x => x.Policy.StartsWith("subject packs", StringComparison.Ordinal)).ToList();
        if (packs.Count > 0)
        {
            var design = new PackDesign(1, options.StarterSize, options.StarterTrigger);
            var kits = design.StarterKits(study);
            Line($"  subject packs: starters of {kits.Sum()} kits ({string.Join("+", kits)}) serving {kits.Min() / v.KitsPerVisit} randomization(s) each, ordered below {design.Trigger} randomizations on hand and on the way; later kits in packs of P visits for one subject");
            Line($"  waste per run                {"starter",8} {"pack",6} {"expired",7} {"damaged",7} {"left",6} | dispensed from starters, from packs");
            foreach (var x in packs)
            {
                Line($"  {x.Policy,-28} {x.Per(x.StarterKitsRetired),8:F1} {x.Per(x.PackKitsUnused),6:F1} {x.Per(x.KitsExpired),7:F1} {x.Per(x.KitsDamaged),7:F1} {x.Per(x.KitsLeft),6:F1} | {x.Per(x.Randomized) * v.KitsPerVisit:F1}, {x.Per(x.KitsDispensed) - (x.Per(x.Randomized) * v.KitsPerVisit):F1}");
            }

            Line($"  (starter: kits left in a starter retired after serving its capacity; pack: kits left in a subject's pack, or on the way to it, when the subject stopped)");
            Line($"  (a pack leaves the depot on its last day, {SubjectPacks.PackShipMarginDays} d to spare before its visit's window, with everything else waiting for its site; at once: each the day it is ordered)");
        }

        if (study.IsBlinded && study.KitTypes.Count > 1)
        {
            var chance = Resupply.Weights(study).Values.Sum(w => w * w) * 100;
            Line($"  kit's shipment vs arm        {"mean",6} {"largest",7} | restricted draws | kit pairs in a shipment of one type (chance {chance:F1}%)");
            foreach (var x in summaries)
            {
                Line($"  {x.Policy,-28} {x.ArmDistancePercent,5:F1}% {100 * x.ArmDistanceMax,6:F1}% | {x.RestrictedPercent,5:F1}% | {x.SameTypeInShipmentPercent,5:F1}%");
            }

            Line($"  (distance between arms of the shipment a dispensed kit comes from: knowing every kit's type, one guesses the arm from it right 1/2 + 1/2 x this; restricted: dispensings where a shipment on the shelf had none of the subject's type)");
            if (packs.Count > 0)
            {
                Line($"  (subject packs: a randomization's starter and a later kit's pack follow from public counts, whatever the arm; kit pairs counted over starters only, a pack being one subject's)");
            }
        }

        Line($"  (waste: kits shipped to sites and never dispensed / kits shipped; expiry: stock-out holds right after a type's kits passed their do-not-dispense limit)");
        var blindSafe = summaries[0];
        var perType = summaries.First(x => x.Policy.StartsWith("per-type", StringComparison.Ordinal));
        Line($"simulate: waste={blindSafe.WastePercent:F1}% hold-probability={blindSafe.HoldProbability:F3} shipments-per-site-month={blindSafe.ShipmentsPerSiteMonth:F2} per-type-waste={perType.WastePercent:F1}%");
        return text.ToString();
    }
}
