using Iwrs.Domain.Studies;

namespace Iwrs.Domain.Supply;

/// <summary>One site's stock of one kit type: available on the shelf, and on the way in open shipments.</summary>
public sealed record StockLevel(string KitType, int Available, int InTransit);

/// <summary>
/// Whether a site needs kits, and how many of each type. Kits already on the way count, so running the check
/// twice never orders twice. In a blinded study an order always carries every kit type (at least one of each,
/// at least two kits), so the content of a shipment never tells the site which arm ran low.
/// </summary>
public static class Resupply
{
    public static IReadOnlyDictionary<string, int> Need(StudyConfiguration study, SupplySettings supply, IReadOnlyList<StockLevel> stock)
    {
        var levels = study.KitTypes.ToDictionary(k => k.Code, k => stock.FirstOrDefault(s => s.KitType == k.Code) ?? new StockLevel(k.Code, 0, 0));
        var triggered = levels.Values.Any(s => s.Available + s.InTransit < supply.TriggerLevel);
        if (!triggered)
        {
            return new Dictionary<string, int>();
        }

        var need = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (type, level) in levels)
        {
            var upTo = Math.Max(0, supply.MaximumLevel - level.Available - level.InTransit);
            if (upTo > 0 || study.IsBlinded)
            {
                need[type] = study.IsBlinded ? Math.Max(upTo, 1) : upTo;
            }
        }

        if (study.IsBlinded && need.Values.Sum() < 2)
        {
            need[need.Keys.First()]++;
        }

        return Cap(need.Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value), Shipment.MaxKits, study.IsBlinded);
    }

    /// <summary>
    /// One shipment holds at most <paramref name="maxKits"/> (one transaction); a larger need is met over the next
    /// checks. The largest quantities are cut first; in a blinded study every type keeps at least one kit.
    /// </summary>
    public static Dictionary<string, int> Cap(Dictionary<string, int> need, int maxKits, bool blinded)
    {
        var capped = new Dictionary<string, int>(need, StringComparer.Ordinal);
        while (capped.Values.Sum() > maxKits)
        {
            var largest = capped.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).First();
            if (largest.Value <= (blinded ? 1 : 0))
            {
                break;
            }

            capped[largest.Key] = largest.Value - 1;
        }

        return capped.Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value);
    }
}
