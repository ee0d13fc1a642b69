using Iwrs.Domain.Supply;

namespace Iwrs.Simulate;

/// <summary>
/// The depot: lots of every type, each with one expiry, in order of expiry. The depot manager orders a new lot of a
/// type when the kits that will still be shippable once it is made fall below the reorder point; it arrives after
/// the production lead time with the scenario's shelf life.
/// </summary>
internal sealed class Depot(int types)
{
    private readonly List<Lot>[] _lots = [.. Enumerable.Range(0, types).Select(_ => new List<Lot>())];

    /// <summary>Orders the lots the depot needs today; returns how many kits they hold.</summary>
    public int Plan(int day, DateOnly today, Scenario scenario, int shippingMarginDays)
    {
        var produced = 0;
        var horizon = today.AddDays(scenario.ProductionLeadDays + shippingMarginDays);
        // A lot carries every kit type with one expiry (the product refuses a blinded kit list whose lot or expiry
        // date lacks a type: attacker review M1), so when any type runs low every type is made.
        while (_lots.Any(lots => Projected(lots, horizon) < scenario.ReorderPoint))
        {
            // The depot is stocked above the reorder point before the study starts; later lots take the
            // production lead time.
            var lead = day == 0 ? 0 : scenario.ProductionLeadDays;
            foreach (var lots in _lots)
            {
                lots.Add(new Lot(day + lead, today.AddDays(lead + scenario.ShelfLifeDays), scenario.LotSize));
                produced += scenario.LotSize;
            }
        }

        return produced;
    }

    private static int Projected(List<Lot> lots, DateOnly horizon)
    {
        var n = 0;
        foreach (var lot in lots)
        {
            n += lot.Expiry >= horizon ? lot.Left : 0;
        }

        return n;
    }

    public int Shippable(int type, int day, DateOnly earliest) => _lots[type].Where(l => l.Arrives <= day && l.Expiry >= earliest).Sum(l => l.Left);

    /// <summary>Kits still shippable, by batch and type (the depot stock a blinded shipment's one batch is chosen from; one lot a date here).</summary>
    public Dictionary<DepotBatch, IReadOnlyDictionary<string, int>> ByBatch(string[] types, int day, DateOnly earliest)
    {
        var byBatch = new Dictionary<DepotBatch, IReadOnlyDictionary<string, int>>();
        foreach (var date in _lots.SelectMany(lots => lots).Where(l => l.Arrives <= day && l.Expiry >= earliest && l.Left > 0).Select(l => l.Expiry).Distinct())
        {
            byBatch[new DepotBatch(date, string.Empty)] = Enumerable.Range(0, types.Length)
                .Select(t => (Type: types[t], Left: _lots[t].Where(l => l.Arrives <= day && l.Expiry == date).Sum(l => l.Left)))
                .Where(t => t.Left > 0)
                .ToDictionary(t => t.Type, t => t.Left, StringComparer.Ordinal);
        }

        return byBatch;
    }

    public List<DateOnly> Take(int type, int day, DateOnly earliest, int count, DateOnly? only = null)
    {
        var taken = new List<DateOnly>(count);
        foreach (var lot in _lots[type].Where(l => l.Arrives <= day && l.Expiry >= earliest && (only is null || l.Expiry == only)))
        {
            while (lot.Left > 0 && taken.Count < count)
            {
                lot.Left--;
                taken.Add(lot.Expiry);
            }
        }

        return taken;
    }

    private sealed class Lot(int arrives, DateOnly expiry, int left)
    {
        public int Arrives { get; } = arrives;
        public DateOnly Expiry { get; } = expiry;
        public int Left { get; set; } = left;
    }
}
