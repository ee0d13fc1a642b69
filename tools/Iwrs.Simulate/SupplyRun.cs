using Iwrs.Domain.Studies;
using Iwrs.Domain.Supply;

namespace Iwrs.Simulate;

/// <summary>
/// One trial under one supply policy, day by day, deciding with the product's own rules:
/// <see cref="IResupplyRule.Need"/> for when, how many and which types, <see cref="Dispensability"/> for which kits
/// may be dispensed and shipped, <see cref="SupplyHold.IsShort"/> for holds and <see cref="KitChoice.Pick{T}"/> for the
/// kit a subject gets. Each day, in order: the depot orders a lot if it runs low; shipments arriving are received (a
/// shipment with a damaged kit waits for release) and released shipments go on the shelf, lifting a stock-out hold
/// (one with damaged kits holds the site until their replacement is released); dispensing visits due; arrivals
/// randomized while enrolment is open; kits past the do-not-dispense limit leave the usable shelf; sites with nobody
/// left on treatment after enrolment closed are closed out (their kits are left over); the resupply check runs over
/// every open site (a site owed a replacement orders that instead, when nothing is on the way).
/// </summary>
internal sealed class SupplyRun
{
    private readonly StudyConfiguration _study;
    private readonly Scenario _scenario;
    private readonly Trial _trial;
    private readonly Policy _policy;
    private readonly SeededRandom _random;
    private readonly SeededRandom _ties;
    private readonly string[] _types;
    private readonly Dictionary<string, int> _armType;
    private readonly SiteState[] _sites;
    private readonly Depot _depot;
    private readonly int _run;
    private readonly TextWriter? _holdLog;
    private readonly int _depotMarginDays;
    private readonly RunOutcome _outcome = new();
    private readonly VisitCalendar<Subject> _due = new();
    private readonly Dictionary<string, int> _listPointer = new(StringComparer.Ordinal);

    private SupplyRun(StudyConfiguration study, Scenario scenario, Trial trial, Policy policy, ulong seed, int run, TextWriter? holdLog)
    {
        _study = study;
        _scenario = scenario;
        _trial = trial;
        _policy = policy;

        // The same supply stream for every policy of a run: damage and kit-choice draws start alike.
        _random = new SeededRandom(seed, (ulong)run, 2);
        // The composition's tie-breaks on a stream of their own, so the kit-choice draws stay paired across policies.
        _ties = new SeededRandom(seed, (ulong)run, 3);
        _run = run;
        _holdLog = holdLog;
        _types = [.. study.KitTypes.Select(k => k.Code)];
        _armType = study.Arms.ToDictionary(a => a.Code, a => Array.IndexOf(_types, a.KitType), StringComparer.Ordinal);
        _sites = [.. study.Sites.Where(s => s.Active).Select(s => new SiteState(s, _types.Length))];
        _depot = new Depot(_types.Length);

        // The depot plans with the strictest site's shipping limit: a lot it cannot ship anywhere does not count.
        _depotMarginDays = _sites.Max(s => ShipFrom(s, scenario.Start).DayNumber - scenario.Start.DayNumber);
    }

    /// <summary>Runs <paramref name="trial"/> under <paramref name="policy"/>; <paramref name="holdLog"/>, when given, gets one line per supply hold (with unblinded per-type counts).</summary>
    public static RunOutcome Simulate(StudyConfiguration study, Scenario scenario, Trial trial, Policy policy, ulong seed, int run, TextWriter? holdLog = null)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(trial);
        ArgumentNullException.ThrowIfNull(policy);
        return new SupplyRun(study, scenario, trial, policy, seed, run, holdLog).Run();
    }

    private RunOutcome Run()
    {
        var enrolment = new Enrolment(_trial, _scenario, _outcome);
        var limit = 365 * 40;
        for (var day = 0; day < limit; day++)
        {
            var today = _scenario.Start.AddDays(day);
            _outcome.KitsProduced += _depot.Plan(day, today, _scenario, _depotMarginDays);
            foreach (var site in _sites)
            {
                if (!site.Closed)
                {
                    Receive(site, day, today);
                }
            }

            foreach (var subject in _due.Take(day))
            {
                Visit(subject, day, today);
            }

            enrolment.Step(day, candidate => TryRandomize(candidate, day, today));

            foreach (var site in _sites)
            {
                if (site.Closed)
                {
                    continue;
                }

                var usableFrom = Dispensability.EarliestAllowedExpiry(today, _study.VisitSchedule, site.Site.Supply);
                _outcome.KitsExpired += site.DropUnusable(usableFrom, day);
                if (!enrolment.Open && site.OnTreatment.Sum() == 0)
                {
                    Close(site, day);
                }
                else
                {
                    // A loss whose replacement the depot could not ship at once: the check orders it first, as the
                    // product's timer does, and then the site's own order.
                    if (site.Losses.FirstOrDefault(l => l.Replacement is null) is { } unreplaced)
                    {
                        unreplaced.Replacement = Ship(site, day, today, Replacement(unreplaced.Lost), urgent: false, replacement: true);
                    }

                    // A site on hold with nothing on the way orders urgently (above the trigger too).
                    var urgent = site.OnHold && site.Open.Count == 0;
                    Ship(site, day, today, _policy.Rule.Need(_study, site.Site.Supply, Stock(site, today), _ties, urgent), urgent);
                }
            }

            if (_sites.All(s => s.Closed))
            {
                _outcome.StudyDays = day;
                return _outcome;
            }
        }

        throw new InvalidOperationException($"The simulated study did not end within {limit} days.");
    }

    /// <summary>
    /// Receipt and release, as the product does them: a shipment whose kits are all ok goes on the shelf at once;
    /// one with a damaged kit waits for the depot manager's release. Released, its ok kits are set aside in a blinded
    /// study (<see cref="SetAside.AtRelease"/>) and its replacement (the lost kits' types plus one kit of every type) is
    /// ordered; the replacement, released, brings them to the shelf with it. A release that puts kits on the shelf
    /// lifts a stock-out hold.
    /// </summary>
    private void Receive(SiteState site, int day, DateOnly today)
    {
        for (var i = 0; i < site.Open.Count; i++)
        {
            var shipment = site.Open[i];
            if (shipment.ReleaseDay < 0 && shipment.ArrivalDay == day)
            {
                for (var k = 0; k < shipment.Kits.Count; k++)
                {
                    if (_random.Chance(_scenario.DamagePerKit))
                    {
                        shipment.Kits[k] = shipment.Kits[k] with { Damaged = true };
                        _outcome.KitsDamaged++;
                    }
                }

                shipment.ReleaseDay = shipment.Kits.Any(k => k.Damaged)
                    ? day + _random.Between(_scenario.ReleaseDelayMinDays, _scenario.ReleaseDelayMaxDays)
                    : day;

                // Kits reported lost at receipt: the replacement is ordered with the report, as the product does.
                if (shipment.Kits.Any(k => k.Damaged))
                {
                    var lostAtReceipt = new int[_types.Length];
                    foreach (var kit in shipment.Kits.Where(k => k.Damaged))
                    {
                        lostAtReceipt[kit.Type]++;
                    }

                    var loss = new Loss(lostAtReceipt) { Source = shipment };
                    site.Losses.Add(loss);
                    loss.Replacement = Ship(site, day, today, Replacement(lostAtReceipt), urgent: false, replacement: true);
                }
            }

            if (shipment.ReleaseDay != day)
            {
                continue;
            }

            site.Open.RemoveAt(i--);
            var shelved = 0;
            foreach (var loss in site.Losses.Where(l => l.Replacement == shipment).ToList())
            {
                foreach (var (type, expiry, from) in loss.Aside)
                {
                    site.Shelf[type].Add(new Stocked(expiry, from));
                }

                shelved += loss.Aside.Count;
                site.Losses.Remove(loss);
            }

            // Blinded, a shipment that lost kits sets its ok kits aside until its replacement is released (the loss was
            // recorded at receipt; gone if the replacement came first, and then the kits go on the shelf).
            var held = SetAside.AtRelease(_study, shipment.Kits.Count(k => k.Damaged)) ? site.Losses.FirstOrDefault(l => l.Source == shipment) : null;
            foreach (var kit in shipment.Kits.Where(k => !k.Damaged))
            {
                if (held is not null)
                {
                    held.Aside.Add((kit.Type, kit.Expiry, shipment.Id));
                    _outcome.KitsSetAside++;
                }
                else
                {
                    site.Shelf[kit.Type].Add(new Stocked(kit.Expiry, shipment.Id));
                    shelved++;
                }
            }

            // A stock-out hold lifts at a release that puts kits on the shelf.
            if (site.OnHold && shelved > 0)
            {
                _outcome.HoldDays += day - site.HoldSince;
                _outcome.StockOutHoldDays += site.HoldIsStockOut ? day - site.HoldSince : 0;
                site.OnHold = false;
            }

            if (held is null)
            {
                site.Losses.RemoveAll(l => l.Source == shipment);
            }
        }
    }

    /// <summary>The product's replacement for lost kits: those kits' types, plus one kit of every type in a blinded study.</summary>
    private Dictionary<string, int> Replacement(int[] lost)
    {
        var replacement = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var t = 0; t < _types.Length; t++)
        {
            var n = lost[t] + (_study.IsBlinded ? 1 : 0);
            if (n > 0)
            {
                replacement[_types[t]] = n;
            }
        }

        return replacement;
    }

    private void StartHold(SiteState site, int day, string cause)
    {
        site.OnHold = true;
        site.HoldSince = day;
        site.HoldIsStockOut = cause == "stock-out";
        _outcome.Holds++;
    }

    private void Visit(Subject subject, int day, DateOnly today)
    {
        var site = _sites[subject.Candidate.SiteIndex];
        if (subject.VisitsDone == subject.Candidate.Visits)
        {
            // The visit after the last dispensing: progression (or the end of treatment) is recorded; off treatment.
            site.OnTreatment[subject.Type]--;
            return;
        }

        if (TryDispense(site, subject.Type, day, today))
        {
            if (day > subject.Due)
            {
                _outcome.DelayedVisits++;
            }

            subject.VisitsDone++;
            Schedule(subject, day + _study.VisitSchedule.CycleLengthDays);
        }
        else if (day + 1 <= subject.Target + _study.VisitSchedule.WindowDays)
        {
            // Refused by a hold: the subject comes back the next day, while the window lasts.
            _due.On(day + 1).Add(subject);
        }
        else
        {
            // The hold outlasted the window: this cycle's kit is never given; the next cycle keeps the schedule.
            _outcome.MissedVisits++;
            subject.VisitsDone++;
            Schedule(subject, subject.Target + _study.VisitSchedule.CycleLengthDays);
        }
    }

    /// <summary>The subject's next visit: the cycle's target day, moved within the window by the visit's pre-drawn offset.</summary>
    private void Schedule(Subject subject, int target)
    {
        subject.Target = target;
        subject.Due = subject.VisitsDone < subject.Candidate.Visits ? target + subject.Candidate.Jitter[subject.VisitsDone] : target;
        _due.On(subject.Due).Add(subject);
    }

    private bool TryRandomize(Candidate candidate, int day, DateOnly today)
    {
        var site = _sites[candidate.SiteIndex];
        var arm = _study.Arms[0].Code;
        if (_study.Allocation == Allocation.Randomized)
        {
            var position = _listPointer.GetValueOrDefault(candidate.StratumKey);
            var slots = _trial.ArmsByStratum[candidate.StratumKey];
            if (position >= slots.Count)
            {
                throw new InvalidOperationException($"The simulated list ran out of slots in stratum {candidate.StratumKey}.");
            }

            arm = slots[position];
        }

        var type = _armType[arm];
        if (!TryDispense(site, type, day, today))
        {
            return false;
        }

        if (_study.Allocation == Allocation.Randomized)
        {
            _listPointer[candidate.StratumKey] = _listPointer.GetValueOrDefault(candidate.StratumKey) + 1;
        }

        _outcome.Randomized++;
        site.OnTreatment[type]++;
        var subject = new Subject(candidate, type) { VisitsDone = 1 };
        Schedule(subject, day + _study.VisitSchedule.CycleLengthDays);
        return true;
    }

    /// <summary>
    /// A randomization's or visit's kits, as the product decides them: refused while the site is on hold; a new hold
    /// when <see cref="SupplyHold.IsShort"/> (any type short in a blinded study, this type otherwise), which orders an
    /// urgent shipment at once; otherwise the visit's kits chosen among the type's usable kits.
    /// </summary>
    private bool TryDispense(SiteState site, int type, int day, DateOnly today)
    {
        if (site.OnHold)
        {
            return false;
        }

        var supply = site.Site.Supply;
        var usableFrom = Dispensability.EarliestAllowedExpiry(today, _study.VisitSchedule, supply);
        var counts = new Dictionary<string, int>(_types.Length, StringComparer.Ordinal);
        for (var t = 0; t < _types.Length; t++)
        {
            counts[_types[t]] = CountFrom(site.Shelf[t], usableFrom);
        }

        if (SupplyHold.IsShort(_study, counts, _types[type]))
        {
            StockOut(site, day, today, counts, type);
            return false;
        }

        var shelf = site.Shelf[type];
        var considered = _study.IsBlinded ? _types.Length : 1;
        var usable = new Dictionary<string, IReadOnlyList<(int Type, int Index)>>(considered, StringComparer.Ordinal);

        // Per shipment on the shelf, its usable kits of each type considered.
        var tally = new List<(string Shipment, int[] Count)>();
        for (var c = 0; c < considered; c++)
        {
            var t = _study.IsBlinded ? c : type;
            var kits = new List<(int Type, int Index)>();
            for (var i = 0; i < site.Shelf[t].Count; i++)
            {
                var kit = site.Shelf[t][i];
                if (kit.Expiry < usableFrom)
                {
                    continue;
                }

                kits.Add((t, i));
                var at = tally.FindIndex(x => string.Equals(x.Shipment, kit.Shipment, StringComparison.Ordinal));
                if (at < 0)
                {
                    tally.Add((kit.Shipment, new int[_types.Length]));
                    at = tally.Count - 1;
                }

                tally[at].Count[t]++;
            }

            usable[_types[t]] = kits;
        }

        var ofType = usable[_types[type]];
        var count = _study.VisitSchedule.KitsPerVisit;
        string ShipmentOf((int Type, int Index) kit) => site.Shelf[kit.Type][kit.Index].Shipment;

        // A draw is restricted when a shipment on the shelf has usable kits but none of this type: there the shipment
        // first rule cannot follow the public counts alone.
        _outcome.Draws++;
        _outcome.RestrictedDraws += tally.Exists(x => x.Count[type] == 0) ? 1 : 0;
        if (_study.IsBlinded && _types.Length > 1)
        {
            var distance = ArmDistance(site, usableFrom, tally);
            _outcome.ArmDistanceSum += distance;
            _outcome.ArmDistanceMax = Math.Max(_outcome.ArmDistanceMax, distance);
        }

        var chosen = _policy.Choice switch
        {
            KitChoiceMode.Random => KitChoice.Pick(ofType, count, _random),
            KitChoiceMode.ShipmentFirst => KitChoice.ShipmentFirst(usable, _types[type], ShipmentOf, count, _random),
            _ => [.. ofType.OrderBy(k => shelf[k.Index].Expiry).Take(count)],
        };
        foreach (var i in chosen.Select(k => k.Index).OrderDescending())
        {
            shelf.RemoveAt(i);
        }

        _outcome.KitsDispensed += count;
        return true;
    }

    /// <summary>
    /// How far apart, for two subjects of different arms at this dispensing, the policy's distributions of the shipment
    /// the kit comes from are (total variation, averaged over pairs of kit types). Someone who knew every kit's type on
    /// the shelf but not the subject's arm would guess the arm from the kit's shipment right with probability
    /// ½ + ½ × this (two arms, 1:1); 0 means the shipment tells nothing of the arm. Blinded staff know less, so this
    /// bounds what the kit choice gives them.
    /// </summary>
    private double ArmDistance(SiteState site, DateOnly usableFrom, List<(string Shipment, int[] Count)> tally)
    {
        // P(shipment | type) for each type with a usable kit; null for the others.
        var p = new double[_types.Length][];
        for (var t = 0; t < _types.Length; t++)
        {
            var ofType = tally.Sum(x => x.Count[t]);
            if (ofType == 0)
            {
                continue;
            }

            p[t] = new double[tally.Count];
            switch (_policy.Choice)
            {
                case KitChoiceMode.ShipmentFirst:
                    var weight = tally.Sum(x => x.Count[t] > 0 ? x.Count.Sum() : 0);
                    for (var x = 0; x < tally.Count; x++)
                    {
                        p[t][x] = tally[x].Count[t] > 0 ? tally[x].Count.Sum() / (double)weight : 0;
                    }

                    break;
                case KitChoiceMode.Random:
                    for (var x = 0; x < tally.Count; x++)
                    {
                        p[t][x] = tally[x].Count[t] / (double)ofType;
                    }

                    break;
                default:
                    var first = site.Shelf[t].Where(k => k.Expiry >= usableFrom).MinBy(k => k.Expiry).Shipment;
                    p[t][tally.FindIndex(x => string.Equals(x.Shipment, first, StringComparison.Ordinal))] = 1;
                    break;
            }
        }

        double sum = 0;
        var pairs = 0;
        for (var a = 0; a < _types.Length; a++)
        {
            for (var b = a + 1; b < _types.Length; b++)
            {
                if (p[a] is null || p[b] is null)
                {
                    continue;
                }

                double distance = 0;
                for (var x = 0; x < tally.Count; x++)
                {
                    distance += Math.Abs(p[a][x] - p[b][x]);
                }

                sum += distance / 2;
                pairs++;
            }
        }

        return pairs == 0 ? 0 : sum / pairs;
    }

    /// <summary>A stock-out hold, as the product starts it: the dispensable shelf quarantined (blinded; set-aside kits stay for their replacement), and the urgent order placed at once.</summary>
    private void StockOut(SiteState site, int day, DateOnly today, Dictionary<string, int> counts, int type)
    {
        var supply = site.Site.Supply;
        var usableFrom = Dispensability.EarliestAllowedExpiry(today, _study.VisitSchedule, supply);
        StartHold(site, day, "stock-out");
        _outcome.StockOutHolds++;

        // A hold that follows kits of a short type passing the do-not-dispense limit within a lead time and a
        // release wait (today included: those kits are still on the shelf, dropped at the end of the day) is put
        // down to expiry.
        var window = Math.Max(1, supply.LeadTimeDays) + _scenario.ReleaseDelayMaxDays + 1;
        var afterExpiry = Enumerable.Range(0, _types.Length).Any(t =>
            counts[_types[t]] < _study.VisitSchedule.KitsPerVisit &&
            (day - site.LastExpiry[t] <= window || site.Shelf[t].Any(e => e.Expiry < usableFrom)));
        _outcome.HoldsAfterExpiry += afterExpiry ? 1 : 0;
        _holdLog?.WriteLine(FormattableString.Invariant(
            $"hold: run {_run} [{_policy.Name}] day {day} site {site.Site.SiteId} (a {_types[type]} subject): usable [{string.Join(",", counts.Values)}], on the way [{string.Join(";", site.Open.Select(o => string.Join(",", Enumerable.Range(0, _types.Length).Select(t => o.Kits.Count(k => k.Type == t)))))}], on treatment [{string.Join(",", site.OnTreatment)}], {_outcome.Randomized} randomized{(afterExpiry ? ", after expiry" : "")}"));
        // A blinded site's shelf is quarantined with the hold, as the product does (its kits would tell arms).
        if (SupplyHold.Quarantines(_study))
        {
            foreach (var kits in site.Shelf)
            {
                _outcome.KitsQuarantined += kits.Count;
                kits.Clear();
            }
        }

        // The product orders at once: urgently (above the trigger too) when nothing is on the way.
        var urgent = site.Open.Count == 0;
        Ship(site, day, today, _policy.Rule.Need(_study, supply, Stock(site, today), _ties, urgent), urgent);
    }

    /// <summary>What the resupply rule reads: usable kits on the shelf, kits on the way (all kits of shipments not yet released, less those reported damaged), subjects on treatment.</summary>
    private List<StockLevel> Stock(SiteState site, DateOnly today)
    {
        var countedFrom = _policy.Count == StockCount.AtArrival
            ? Dispensability.EarliestCountedExpiry(today, _study.VisitSchedule, site.Site.Supply)
            : Dispensability.EarliestAllowedExpiry(today, _study.VisitSchedule, site.Site.Supply);
        var stock = new List<StockLevel>(_types.Length);
        for (var t = 0; t < _types.Length; t++)
        {
            var inTransit = 0;
            foreach (var shipment in site.Open)
            {
                foreach (var kit in shipment.Kits)
                {
                    inTransit += kit.Type == t && !kit.Damaged ? 1 : 0;
                }
            }

            // The shelf holds only kits usable today (DropUnusable runs before every check; kits only get older).
            // Counted at arrival, kits that pass the limit before a shipment ordered now could replace them are not stock.
            // Kits set aside for a loss count as the product counts them: on the shelf, back with the replacement.
            var aside = site.Losses.Sum(l => l.Aside.Count(k => k.Type == t && (_policy.Count == StockCount.Today || k.Expiry >= countedFrom)));
            var available = aside + (_policy.Count == StockCount.Today ? site.Shelf[t].Count : CountFrom(site.Shelf[t], countedFrom));
            stock.Add(new StockLevel(_types[t], available, inTransit, _policy.CompositionSeesOnTreatment ? site.OnTreatment[t] : 0));
        }

        return stock;
    }

    /// <summary>
    /// Days ahead the check looks when it counts stock at arrival: the lead time, the next daily check and a release
    /// wait of up to 2 days (a shipment with a damaged kit). Kits that will pass their limit before then are replaced now.
    /// </summary>
    private int CountHorizon(SiteState site) => _policy.Count == StockCount.AtArrival ? Math.Max(1, site.Site.Supply.LeadTimeDays) + ArrivalMarginDays : 0;

    /// <summary>The product's margin (<see cref="Dispensability.ArrivalMarginDays"/>).</summary>
    public const int ArrivalMarginDays = Dispensability.ArrivalMarginDays;

    /// <summary>
    /// The earliest expiry the depot ships: dispensable on arrival (the product's rule); counting stock at arrival, a
    /// kit that would not count as stock on the day it is shipped is not shipped either, or the next check would order
    /// again and the depot send more of the same short-dated lot.
    /// </summary>
    private DateOnly ShipFrom(SiteState site, DateOnly today) => _policy.Count == StockCount.AtArrival
        ? Dispensability.EarliestCountedExpiry(today, _study.VisitSchedule, site.Site.Supply)
        : Dispensability.EarliestShippableExpiry(today, _study.VisitSchedule, site.Site.Supply);

    private static int CountFrom(List<Stocked> shelf, DateOnly from)
    {
        var n = 0;
        foreach (var kit in shelf)
        {
            n += kit.Expiry >= from ? 1 : 0;
        }

        return n;
    }

    /// <summary>
    /// The depot picks first-expiry-first among kits still shippable, a blinded shipment all from one date chosen by
    /// <see cref="DepotPick"/>, as the product does; if it cannot, the whole shipment waits for the next check, as
    /// the product refuses it.
    /// </summary>
    private InTransit? Ship(SiteState site, int day, DateOnly today, IReadOnlyDictionary<string, int> need, bool urgent, bool replacement = false)
    {
        if (need.Count == 0)
        {
            return null;
        }

        var earliest = ShipFrom(site, today);
        var wanted = need.Where(kv => kv.Value > 0).Select(kv => (Type: Array.IndexOf(_types, kv.Key), Count: kv.Value)).ToList();
        DateOnly? date = null;
        if (DepotPick.OneBatch(_study.IsBlinded, _types.Length))
        {
            // Every order here is automatic or a loss's replacement: the product keeps its number of kits (fill).
            if (DepotPick.From(need, _depot.ByBatch(_types, day, earliest), fill: true) is not { } pick)
            {
                _outcome.DepotShortfalls++;
                return null;
            }

            date = pick.Batch.Expiry;
            wanted = [.. pick.Kits.Select(kv => (Type: Array.IndexOf(_types, kv.Key), Count: kv.Value))];
        }
        else if (wanted.Any(w => _depot.Shippable(w.Type, day, earliest) < w.Count))
        {
            _outcome.DepotShortfalls++;
            return null;
        }

        var shipment = new InTransit(day + Math.Max(1, site.Site.Supply.LeadTimeDays), replacement, FormattableString.Invariant($"S{_outcome.Shipments + 1}"));
        foreach (var (type, count) in wanted)
        {
            foreach (var expiry in _depot.Take(type, day, earliest, count, date))
            {
                shipment.Kits.Add(new ShippedKit(type, expiry, Damaged: false));
            }
        }

        if (_study.IsBlinded && _types.Length > 1)
        {
            // Pairs of kits in the shipment, and those of one type: the composition's lean (Summary.SameTypeInShipmentPercent).
            static long Pairs(long n) => n * (n - 1) / 2;
            _outcome.KitPairs += Pairs(shipment.Kits.Count);
            _outcome.KitPairsSameType += shipment.Kits.GroupBy(k => k.Type).Sum(g => Pairs(g.Count()));
        }

        site.Open.Add(shipment);
        _outcome.Shipments++;
        _outcome.UrgentShipments += urgent ? 1 : 0;
        _outcome.ReplacementShipments += replacement ? 1 : 0;
        _outcome.KitsShipped += shipment.Kits.Count;
        return shipment;
    }

    private void Close(SiteState site, int day)
    {
        _outcome.KitsLeft += site.Shelf.Sum(s => s.Count) + site.Losses.Sum(l => l.Aside.Count) + site.Open.Sum(o => o.Kits.Count(k => !k.Damaged));
        if (site.OnHold)
        {
            _outcome.HoldDays += day - site.HoldSince;
            _outcome.StockOutHoldDays += site.HoldIsStockOut ? day - site.HoldSince : 0;
        }

        _outcome.SiteDays += day;
        site.Closed = true;
    }

    private sealed class Subject(Candidate candidate, int type)
    {
        public Candidate Candidate { get; } = candidate;
        public int Type { get; } = type;
        public int VisitsDone { get; set; }
        public int Target { get; set; }
        public int Due { get; set; }
    }

    private sealed record ShippedKit(int Type, DateOnly Expiry, bool Damaged);

    /// <summary>A loss: kits lost per type, the kits set aside for it, and its replacement once shipped.</summary>
    private sealed class Loss(int[] lost)
    {
        public int[] Lost { get; } = lost;
        public List<(int Type, DateOnly Expiry, string Shipment)> Aside { get; } = [];
        public InTransit? Replacement { get; set; }

        /// <summary>The shipment that lost the kits.</summary>
        public InTransit? Source { get; init; }
    }

    /// <summary>A usable kit on a site's shelf: its expiry and the shipment it came in.</summary>
    private readonly record struct Stocked(DateOnly Expiry, string Shipment);

    private sealed class InTransit(int arrivalDay, bool replacement, string id)
    {
        public int ArrivalDay { get; } = arrivalDay;

        /// <summary>The shipment's number in the run: what blinded staff see its kits by.</summary>
        public string Id { get; } = id;

        /// <summary>Ordered to replace lost kits: its release pays them off.</summary>
        public bool Replacement { get; } = replacement;

        /// <summary>−1 until received; then the day its ok kits go on the shelf.</summary>
        public int ReleaseDay { get; set; } = -1;

        public List<ShippedKit> Kits { get; } = [];
    }

    private sealed class SiteState(Site site, int types)
    {
        public Site Site { get; } = site;

        /// <summary>Each usable kit on the shelf, per type.</summary>
        public List<Stocked>[] Shelf { get; } = [.. Enumerable.Range(0, types).Select(_ => new List<Stocked>())];

        public List<InTransit> Open { get; } = [];
        public int[] OnTreatment { get; } = new int[types];
        public bool OnHold { get; set; }
        public int HoldSince { get; set; }

        /// <summary>The hold began with a stock-out (not with lost kits).</summary>
        public bool HoldIsStockOut { get; set; }

        /// <summary>Losses (damaged kits in released shipments) whose replacement is not yet released, with the kits set aside for them.</summary>
        public List<Loss> Losses { get; } = [];
        public bool Closed { get; set; }

        /// <summary>Per type, the last day kits of the type passed the do-not-dispense limit on the shelf.</summary>
        public int[] LastExpiry { get; } = [.. Enumerable.Repeat(-1000, types)];

        /// <summary>Takes kits past the do-not-dispense limit off the usable shelf; returns how many.</summary>
        public int DropUnusable(DateOnly usableFrom, int day)
        {
            var dropped = 0;
            for (var t = 0; t < Shelf.Length; t++)
            {
                var n = Shelf[t].RemoveAll(e => e.Expiry < usableFrom);
                LastExpiry[t] = n > 0 ? day : LastExpiry[t];
                dropped += n;
            }

            return dropped;
        }
    }
}
