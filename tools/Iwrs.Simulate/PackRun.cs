using Iwrs.Domain.Studies;
using Iwrs.Domain.Supply;

namespace Iwrs.Simulate;

/// <summary>
/// One trial under the subject-pack design (<see cref="PackDesign"/>), day by day, on the same trial as the shelf
/// policies (arrivals, list arms, visits): the depot (<see cref="Depot"/>) as <see cref="SupplyRun"/> models it,
/// <see cref="Dispensability"/> for the do-not-dispense limit, receipt with damage and a release wait as there. Each
/// day, in order: the depot orders a lot if it runs low; shipments arriving are received (damaged pack kits are
/// reordered for their subject at once; a damaged starter kit lowers its starter's capacity) and released; visits due
/// take kits from the subject's own pack; arrivals are randomized from the site's open starter while enrolment is
/// open; starters past the do-not-dispense limit are retired; sites with nobody left on treatment after enrolment
/// closed are closed out; each open site orders starters when the randomizations its starters can serve fall below the
/// trigger, and everything ordered for a site that day (starters, packs, replacement packs) leaves as one shipment.
/// Every decision reads public facts only (counts, dates, visit numbers); the kit types are the simulator's to know.
/// </summary>
internal sealed class PackRun
{
    private readonly StudyConfiguration _study;
    private readonly Scenario _scenario;
    private readonly Trial _trial;
    private readonly Policy _policy;
    private readonly PackDesign _design;
    private readonly SeededRandom _random;
    private readonly string[] _types;
    private readonly Dictionary<string, int> _armType;
    private readonly int[] _starterKits;
    private readonly int _perStarter;
    private readonly PackSite[] _sites;
    private readonly Depot _depot;
    private readonly int _depotMarginDays;
    private readonly int _run;
    private readonly TextWriter? _holdLog;
    private readonly PackTrace? _trace;
    private readonly RunOutcome _outcome = new();
    private readonly VisitCalendar<Subject> _due = new();
    private readonly Dictionary<string, int> _listPointer = new(StringComparer.Ordinal);
    private int _starters;
    private bool _enrolmentClosed;

    private PackRun(StudyConfiguration study, Scenario scenario, Trial trial, Policy policy, ulong seed, int run, TextWriter? holdLog, PackTrace? trace)
    {
        _study = study;
        _scenario = scenario;
        _trial = trial;
        _policy = policy;
        _design = policy.Packs ?? throw new ArgumentException("Not a subject-pack policy.", nameof(policy));
        // The supply stream of every policy of the run: damage and release draws start alike.
        _random = new SeededRandom(seed, (ulong)run, 2);
        _run = run;
        _holdLog = holdLog;
        _trace = trace;
        _types = [.. study.KitTypes.Select(k => k.Code)];
        _armType = study.Arms.ToDictionary(a => a.Code, a => Array.IndexOf(_types, a.KitType), StringComparer.Ordinal);
        _starterKits = [.. _design.StarterKits(study)];
        if (SubjectPacks.InvalidStarterSize(study, _starterKits.Sum()) is { } invalid)
        {
            throw new ArgumentException(invalid, nameof(policy));
        }

        _perStarter = SubjectPacks.Serves(_starterKits, study.VisitSchedule.KitsPerVisit);
        _sites = [.. study.Sites.Where(s => s.Active).Select(s => new PackSite(s))];
        _depot = new Depot(_types.Length);

        // The depot plans with the longest-lived shipment it makes: a starter that must last its shelf days after arrival.
        var schedule = study.VisitSchedule;
        var starterDays = _sites.Max(s => Math.Max(1, s.Site.Supply.LeadTimeDays) + SubjectPacks.StarterShelfDays + schedule.CycleLengthDays + schedule.WindowDays + s.Site.Supply.DoNotDispenseDays);
        var packDays = _sites.Max(s => ((_design.Visits + 1) * (schedule.CycleLengthDays + schedule.WindowDays)) + s.Site.Supply.DoNotDispenseDays);
        _depotMarginDays = Math.Max(starterDays, packDays);
    }

    /// <summary>Runs <paramref name="trial"/> under the subject-pack <paramref name="policy"/>; <paramref name="trace"/>, when given, records every shipment, dispensing and starter (the tests' view).</summary>
    public static RunOutcome Simulate(
        StudyConfiguration study, Scenario scenario, Trial trial, Policy policy, ulong seed, int run, TextWriter? holdLog = null, PackTrace? trace = null)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(trial);
        ArgumentNullException.ThrowIfNull(policy);
        return new PackRun(study, scenario, trial, policy, seed, run, holdLog, trace).Run();
    }

    private int KitsPerVisit => _study.VisitSchedule.KitsPerVisit;

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
                    Receive(site, day);
                }
            }

            foreach (var subject in _due.Take(day))
            {
                Visit(subject, day, today);
            }

            if (enrolment.Step(day, candidate => TryRandomize(candidate, day, today)))
            {
                foreach (var site in _sites)
                {
                    LeaveStarters(site);
                }
            }

            foreach (var site in _sites)
            {
                if (site.Closed)
                {
                    continue;
                }

                RetireExpired(site, today);
                if (!enrolment.Open && site.OnTreatment == 0)
                {
                    Close(site, day);
                    continue;
                }

                if (enrolment.Open)
                {
                    OrderStarters(site, today, _scenario.Subjects - _outcome.Randomized);
                }

                Ship(site, day, today);
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
    /// Receipt and release: each kit may be reported damaged; a shipment with a damaged kit is released after the
    /// depot manager's wait, as on the shelf. A damaged pack kit is reordered for its subject at once (a replacement
    /// pack of as many kits: a public count); a damaged starter kit lowers its starter's capacity by one, whatever its
    /// type, so the capacity stays a lower bound in every secret. Nothing is set aside: no replacement tells a type.
    /// Released, starters go on the starter shelf (lifting a starter hold) and pack kits into their subject's pack, or
    /// to waste when the subject has stopped meanwhile.
    /// </summary>
    private void Receive(PackSite site, int day)
    {
        var today = _scenario.Start.AddDays(day);
        for (var i = 0; i < site.Open.Count; i++)
        {
            var shipment = site.Open[i];
            if (shipment.ReleaseDay < 0 && shipment.ArrivalDay == day)
            {
                var damaged = 0;
                foreach (var starter in shipment.Starters)
                {
                    for (var t = 0; t < _types.Length; t++)
                    {
                        for (var k = starter.Kits[t]; k > 0; k--)
                        {
                            if (_random.Chance(_scenario.DamagePerKit))
                            {
                                starter.Kits[t]--;
                                starter.Lose();
                                damaged++;
                            }
                        }
                    }
                }

                foreach (var pack in shipment.Packs)
                {
                    var lost = 0;
                    for (var k = pack.Kits.Count - 1; k >= 0; k--)
                    {
                        if (_random.Chance(_scenario.DamagePerKit))
                        {
                            pack.Kits.RemoveAt(k);
                            lost++;
                        }
                    }

                    damaged += lost;
                    pack.Subject.Incoming -= lost;
                    if (lost > 0 && !pack.Subject.Stopped)
                    {
                        Order(site, new PackOrder(pack.Subject, lost, pack.Earliest, today, Replacement: true));
                    }
                }

                _outcome.KitsDamaged += damaged;
                shipment.ReleaseDay = damaged > 0 ? day + _random.Between(_scenario.ReleaseDelayMinDays, _scenario.ReleaseDelayMaxDays) : day;
            }

            if (shipment.ReleaseDay != day)
            {
                continue;
            }

            site.Open.RemoveAt(i--);
            foreach (var starter in shipment.Starters)
            {
                if (_enrolmentClosed)
                {
                    Leave(starter);
                }
                else if (starter.Public.Capacity(KitsPerVisit) > 0)
                {
                    site.Starters.Add(starter);
                }
                else
                {
                    Retire(starter, "damaged");
                }
            }

            foreach (var pack in shipment.Packs)
            {
                pack.Subject.Incoming -= pack.Kits.Count;
                if (pack.Subject.Stopped)
                {
                    _outcome.PackKitsUnused += pack.Kits.Count;
                }
                else
                {
                    pack.Subject.Pack.AddRange(pack.Kits);
                }
            }

            if (site.OnHold && site.Starters.Count > 0)
            {
                _outcome.HoldDays += day - site.HoldSince;
                _outcome.StockOutHoldDays += day - site.HoldSince;
                site.OnHold = false;
            }
        }
    }

    /// <summary>
    /// A later visit: the subject's kits come from their own pack only. Without them (a pack the depot could not ship
    /// yet, or lost at receipt) the subject comes back the next day within the window, then misses the cycle's kit;
    /// a site's starters are never used for it (they would link this subject to the next randomization's).
    /// </summary>
    private void Visit(Subject subject, int day, DateOnly today)
    {
        var site = _sites[subject.Candidate.SiteIndex];
        if (subject.VisitsDone == subject.Candidate.Visits)
        {
            Stop(site, subject);
            return;
        }

        var usableFrom = Dispensability.EarliestAllowedExpiry(today, _study.VisitSchedule, site.Site.Supply);
        _outcome.KitsExpired += subject.Pack.RemoveAll(k => k.Expiry < usableFrom);
        if (subject.Pack.Count >= KitsPerVisit)
        {
            subject.Pack.Sort((a, b) => a.Expiry.CompareTo(b.Expiry));
            foreach (var kit in subject.Pack.Take(KitsPerVisit))
            {
                _trace?.Dispensings.Add(new PackDispensing(subject.Candidate.Index, subject.VisitsDone + 1, day, kit.Type, null, kit.Owner));
            }

            subject.Pack.RemoveRange(0, KitsPerVisit);
            _outcome.KitsDispensed += KitsPerVisit;
            _outcome.Draws++;
            if (day > subject.Due)
            {
                _outcome.DelayedVisits++;
            }

            subject.VisitsDone++;
            Schedule(subject, day + _study.VisitSchedule.CycleLengthDays);
            OrderPack(site, subject, today);
        }
        else if (day + 1 <= subject.Target + _study.VisitSchedule.WindowDays)
        {
            OrderPack(site, subject, today);
            _due.On(day + 1).Add(subject);
        }
        else
        {
            _holdLog?.WriteLine(FormattableString.Invariant(
                $"missed: run {_run} [{_policy.Name}] day {day} site {site.Site.SiteId}: subject {subject.Candidate.Index} visit {subject.VisitsDone + 1} without its pack ({subject.Incoming} kit(s) on the way, {subject.Pending} ordered, {site.Pending.Count} order(s) waiting for the depot)"));
            _outcome.MissedVisits++;
            subject.VisitsDone++;
            Schedule(subject, subject.Target + _study.VisitSchedule.CycleLengthDays);
            OrderPack(site, subject, today);
        }
    }

    /// <summary>Off treatment (progression, another stop, or the last visit): the kits left in the pack are waste, and so are those on the way to it.</summary>
    private void Stop(PackSite site, Subject subject)
    {
        site.OnTreatment--;
        subject.Stopped = true;
        _outcome.PackKitsUnused += subject.Pack.Count;
        subject.Pack.Clear();
        site.Pending.RemoveAll(o => o.Subject == subject);
        subject.Pending = 0;
    }

    private void Schedule(Subject subject, int target)
    {
        subject.Target = target;
        subject.Due = subject.VisitsDone < subject.Candidate.Visits ? target + subject.Candidate.Jitter[subject.VisitsDone] : target;
        _due.On(subject.Due).Add(subject);
    }

    /// <summary>
    /// After a visit that leaves the subject's pack (on hand, on the way and ordered) short of the next visit's kits,
    /// the next <see cref="PackDesign.Visits"/> visits' kits, no more than the visits the schedule has left: public
    /// numbers. They must stay dispensable until the last of those visits, at the latest it can be.
    /// </summary>
    private void OrderPack(PackSite site, Subject subject, DateOnly today)
    {
        var schedule = _study.VisitSchedule;
        var kits = SubjectPacks.PackKitsToOrder(subject.VisitsDone, schedule.DispensingVisits, subject.Pack.Count + subject.Incoming + subject.Pending, _design.Visits, KitsPerVisit);
        if (kits == 0)
        {
            return;
        }

        var visits = SubjectPacks.PackVisits(subject.VisitsDone, schedule.DispensingVisits, _design.Visits);
        var target = _scenario.Start.AddDays(subject.Target);
        var earliest = SubjectPacks.PackEarliestExpiry(target, visits, today, schedule, site.Site.Supply);
        var shipBy = _design.AtOnce ? today : SubjectPacks.PackShipBy(target, schedule, site.Site.Supply);
        Order(site, new PackOrder(subject, kits, earliest, shipBy, Replacement: false));
    }

    private static DateOnly Max(DateOnly a, DateOnly b) => a > b ? a : b;

    private static void Order(PackSite site, PackOrder order)
    {
        site.Pending.Add(order);
        order.Subject.Pending += order.Kits;
    }

    /// <summary>
    /// A randomization: its kits from the site's one open starter (the oldest with capacity left), of the arm's type,
    /// which the capacity rule guarantees it holds. No starter with capacity: a stock-out hold, as on the shelf, with an
    /// urgent starter when none is on the way. Then the subject's first pack is ordered.
    /// </summary>
    private bool TryRandomize(Candidate candidate, int day, DateOnly today)
    {
        var site = _sites[candidate.SiteIndex];
        if (site.OnHold)
        {
            return false;
        }

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

        RetireExpired(site, today);
        var type = _armType[arm];
        var usableFrom = Dispensability.EarliestAllowedExpiry(today, _study.VisitSchedule, site.Site.Supply);
        var opened = SubjectPacks.OpenStarter(site.Starters.Select(s => s.Public), usableFrom, KitsPerVisit);
        if (opened is null)
        {
            site.OnHold = true;
            site.HoldSince = day;
            _outcome.Holds++;
            _outcome.StockOutHolds++;
            _holdLog?.WriteLine(FormattableString.Invariant(
                $"hold: run {_run} [{_policy.Name}] day {day} site {site.Site.SiteId} (a {_types[type]} subject): no starter capacity, {site.Open.Sum(o => o.Starters.Count)} starter(s) on the way, {_outcome.Randomized} randomized"));
            if (!site.Open.Exists(o => o.Starters.Count > 0) && site.StartersOrdered == 0)
            {
                site.StartersOrdered++;
                site.UrgentOrdered = true;
            }

            return false;
        }

        var index = site.Starters.FindIndex(s => s.Public == opened);
        var open = site.Starters[index];
        if (open.Kits[type] < KitsPerVisit)
        {
            throw new InvalidOperationException($"Starter {open.Id} has capacity {opened.Capacity(KitsPerVisit)} but no {_types[type]} kit: the capacity rule is wrong.");
        }

        if (_study.Allocation == Allocation.Randomized)
        {
            _listPointer[candidate.StratumKey] = _listPointer.GetValueOrDefault(candidate.StratumKey) + 1;
        }

        open.Kits[type] -= KitsPerVisit;
        open.Serve();
        _outcome.KitsDispensed += KitsPerVisit;
        _outcome.Draws++;
        for (var k = 0; k < KitsPerVisit; k++)
        {
            _trace?.Dispensings.Add(new PackDispensing(candidate.Index, 1, day, type, open.Id, null));
        }

        if (open.Public.Capacity(KitsPerVisit) == 0)
        {
            site.Starters.RemoveAt(index);
            Retire(open, "used");
        }

        _outcome.Randomized++;
        site.OnTreatment++;
        var subject = new Subject(candidate, type) { VisitsDone = 1 };
        Schedule(subject, day + _study.VisitSchedule.CycleLengthDays);
        OrderPack(site, subject, today);
        return true;
    }

    /// <summary>A starter leaves the shelf: what it still holds is never dispensed (expired when past its limit, retired unused otherwise).</summary>
    private void Retire(SiteStarter starter, string reason)
    {
        var left = starter.Kits.Sum();
        if (reason == "expired")
        {
            _outcome.KitsExpired += left;
        }
        else
        {
            _outcome.StarterKitsRetired += left;
        }

        _trace?.Starters.Add(new StarterRecord(starter.Id, starter.Public.Scarcest, starter.Public.Lost, starter.Public.Served, [.. starter.Kits], reason));
    }

    /// <summary>
    /// Enrolment closed: the site's starters can serve nobody more, so they leave the shelf, left over (as a shelf's
    /// kits are at close-out), rather than wait there to pass their limit while the site's subjects finish treatment.
    /// </summary>
    private void LeaveStarters(PackSite site)
    {
        _enrolmentClosed = true;
        foreach (var starter in site.Starters)
        {
            Leave(starter);
        }

        site.Starters.Clear();
        site.StartersOrdered = 0;
    }

    private void Leave(SiteStarter starter)
    {
        _outcome.KitsLeft += starter.Kits.Sum();
        _trace?.Starters.Add(new StarterRecord(starter.Id, starter.Public.Scarcest, starter.Public.Lost, starter.Public.Served, [.. starter.Kits], "left"));
    }

    /// <summary>Starters whose kits would pass the do-not-dispense limit (a public date) are retired.</summary>
    private void RetireExpired(PackSite site, DateOnly today)
    {
        var usableFrom = Dispensability.EarliestAllowedExpiry(today, _study.VisitSchedule, site.Site.Supply);
        for (var i = 0; i < site.Starters.Count; i++)
        {
            if (site.Starters[i].Expiry < usableFrom)
            {
                Retire(site.Starters[i], "expired");
                site.Starters.RemoveAt(i--);
            }
        }
    }

    /// <summary>
    /// The starter trigger: while the randomizations the site's starters can serve (on the shelf and still
    /// dispensable when a starter ordered now could replace them, on the way, ordered) fall below the trigger, or below
    /// the subjects the study still has to randomize when that is fewer, one more starter is ordered. Public counts only.
    /// </summary>
    private void OrderStarters(PackSite site, DateOnly today, int stillToRandomize)
    {
        var countedFrom = Dispensability.EarliestCountedExpiry(today, _study.VisitSchedule, site.Site.Supply);
        var counted = SubjectPacks.CountedCapacity(
            site.Starters.Select(s => s.Public), site.Open.SelectMany(o => o.Starters).Select(s => s.Public), site.StartersOrdered, _perStarter, countedFrom, KitsPerVisit);
        site.StartersOrdered += SubjectPacks.StartersToOrder(counted, _design.Trigger, stillToRandomize, _perStarter);
    }

    /// <summary>
    /// Everything ordered for the site today leaves as one shipment (one shipment per site-day), its kits from one
    /// depot batch: in a blinded study with more than one type, the earliest batch holding the shipment's whole number
    /// of kits of every type and lasting as long as its longest-needed kit, so the date printed on a pack depends on the
    /// shipment's size and the depot only, never on its subjects' types. The depot unable to ship it: it all waits for
    /// the next day.
    /// </summary>
    private void Ship(PackSite site, int day, DateOnly today)
    {
        if (!SubjectPacks.ShipsToday(today, site.StartersOrdered, site.Pending.Select(o => o.ShipBy)))
        {
            return;
        }

        var supply = site.Site.Supply;
        var lead = Math.Max(1, supply.LeadTimeDays);
        var earliest = Dispensability.EarliestShippableExpiry(today, _study.VisitSchedule, supply);
        if (site.StartersOrdered > 0)
        {
            earliest = Max(earliest, SubjectPacks.StarterEarliestExpiry(today, _study.VisitSchedule, supply));
        }

        foreach (var order in site.Pending)
        {
            earliest = Max(earliest, order.Earliest);
        }

        var perType = new int[_types.Length];
        for (var t = 0; t < _types.Length; t++)
        {
            perType[t] = site.StartersOrdered * _starterKits[t];
        }

        foreach (var order in site.Pending)
        {
            perType[order.Subject.Type] += order.Kits;
        }

        var total = perType.Sum();
        DateOnly? date = null;
        if (DepotPick.OneBatch(_study.IsBlinded, _types.Length))
        {
            date = SubjectPacks.ShipmentBatch(total, _types, _depot.ByBatch(_types, day, earliest))?.Expiry;
            if (date is null)
            {
                _outcome.DepotShortfalls++;
                return;
            }
        }
        else if (Enumerable.Range(0, _types.Length).Any(t => _depot.Shippable(t, day, earliest) < perType[t]))
        {
            _outcome.DepotShortfalls++;
            return;
        }

        var shipment = new PackShipment(day + lead);
        for (var n = 0; n < site.StartersOrdered; n++)
        {
            var kits = new int[_types.Length];
            var expiry = DateOnly.MaxValue;
            for (var t = 0; t < _types.Length; t++)
            {
                foreach (var e in _depot.Take(t, day, earliest, _starterKits[t], date))
                {
                    kits[t]++;
                    expiry = e < expiry ? e : expiry;
                }
            }

            var starter = new SiteStarter(FormattableString.Invariant($"T{++_starters}"), kits, expiry);
            shipment.Starters.Add(starter);
            if (_study.IsBlinded && _types.Length > 1)
            {
                // Pairs of kits in a starter, the only kits that go to different subjects (a pack is one subject's).
                static long Pairs(long n) => n * (n - 1) / 2;
                _outcome.KitPairs += Pairs(kits.Sum());
                _outcome.KitPairsSameType += kits.Sum(k => Pairs(k));
            }
        }

        var replacement = false;
        foreach (var order in site.Pending)
        {
            var kits = _depot.Take(order.Subject.Type, day, earliest, order.Kits, date).Select(e => new PackKit(order.Subject.Type, e, order.Subject.Candidate.Index)).ToList();
            var pack = new PackLine(order.Subject, order.Earliest, kits);
            shipment.Packs.Add(pack);
            order.Subject.Pending -= order.Kits;
            order.Subject.Incoming += order.Kits;
            replacement |= order.Replacement;
        }

        _trace?.Shipments.Add(new PackShipmentRecord(site.Site.SiteId, day, shipment.Packs.Count, shipment.Starters.Count, total, replacement));
        site.Open.Add(shipment);
        _outcome.Shipments++;
        _outcome.UrgentShipments += site.UrgentOrdered ? 1 : 0;
        _outcome.ReplacementShipments += replacement ? 1 : 0;
        _outcome.KitsShipped += total;
        site.Pending.Clear();
        site.StartersOrdered = 0;
        site.UrgentOrdered = false;
    }

    /// <summary>Close-out: anything still on the way is left over (nobody is on treatment, so no pack is in use; starters left the shelf when enrolment closed).</summary>
    private void Close(PackSite site, int day)
    {
        foreach (var starter in site.Starters.Concat(site.Open.SelectMany(o => o.Starters)))
        {
            Leave(starter);
        }

        _outcome.KitsLeft += site.Open.Sum(o => o.Packs.Sum(p => p.Kits.Count));

        if (site.OnHold)
        {
            _outcome.HoldDays += day - site.HoldSince;
            _outcome.StockOutHoldDays += day - site.HoldSince;
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
        public bool Stopped { get; set; }

        /// <summary>The kits in the subject's pack at the site: theirs alone.</summary>
        public List<PackKit> Pack { get; } = [];

        /// <summary>Kits shipped for the subject and not yet released (less those reported damaged).</summary>
        public int Incoming { get; set; }

        /// <summary>Kits ordered for the subject and not yet shipped.</summary>
        public int Pending { get; set; }
    }

    /// <summary>Kits ordered for one subject: the expiry they need, the last day they may leave the depot (<see cref="SubjectPacks.PackShipBy"/>), and whether they replace damaged ones (those leave at once).</summary>
    private sealed record PackOrder(Subject Subject, int Kits, DateOnly Earliest, DateOnly ShipBy, bool Replacement);

    /// <summary>A subject's pack in a shipment.</summary>
    private sealed class PackLine(Subject subject, DateOnly earliest, List<PackKit> kits)
    {
        public Subject Subject { get; } = subject;
        public DateOnly Earliest { get; } = earliest;
        public List<PackKit> Kits { get; } = kits;
    }

    /// <summary>A kit shipped in a pack: its type and expiry, and the subject (candidate index) whose label it bears.</summary>
    private readonly record struct PackKit(int Type, DateOnly Expiry, int Owner);

    /// <summary>
    /// A starter: its kits left per type (the simulator's secret), and the public counts its capacity is made of:
    /// kits of its scarcest type as shipped, less kits reported damaged, less randomizations served.
    /// </summary>
    private sealed class SiteStarter(string id, int[] kits, DateOnly expiry)
    {
        public string Id { get; } = id;
        public int[] Kits { get; } = kits;
        public DateOnly Expiry { get; } = expiry;

        /// <summary>What the rules see of it (<see cref="SubjectPacks"/>): counts as shipped, lost and served.</summary>
        public Starter Public { get; private set; } = SubjectPacks.NewStarter(id, expiry, kits);

        public void Lose() => Public = Public with { Lost = Public.Lost + 1 };

        public void Serve() => Public = Public with { Served = Public.Served + 1 };
    }

    private sealed class PackShipment(int arrivalDay)
    {
        public int ArrivalDay { get; } = arrivalDay;

        /// <summary>−1 until received; then the day it is released.</summary>
        public int ReleaseDay { get; set; } = -1;

        public List<SiteStarter> Starters { get; } = [];
        public List<PackLine> Packs { get; } = [];
    }

    private sealed class PackSite(Site site)
    {
        public Site Site { get; } = site;

        /// <summary>Released starters with capacity left, oldest first; the first is the open one.</summary>
        public List<SiteStarter> Starters { get; } = [];
        public List<PackShipment> Open { get; } = [];
        public List<PackOrder> Pending { get; } = [];
        public int StartersOrdered { get; set; }
        public bool UrgentOrdered { get; set; }
        public int OnTreatment { get; set; }
        public bool OnHold { get; set; }
        public int HoldSince { get; set; }
        public bool Closed { get; set; }
    }
}

/// <summary>What a subject-pack run did, event by event, for the tests to check its accounting against.</summary>
internal sealed class PackTrace
{
    public List<PackShipmentRecord> Shipments { get; } = [];
    public List<PackDispensing> Dispensings { get; } = [];
    public List<StarterRecord> Starters { get; } = [];
}

/// <summary>One shipment to a site: its day, the packs and starters in it, its kits, and whether a pack in it replaces damaged kits.</summary>
internal sealed record PackShipmentRecord(string Site, int Day, int Packs, int Starters, int Kits, bool Replacement);

/// <summary>One kit dispensed: the subject (candidate index), visit number, day, the kit's type, and where it came from: a starter, or a pack and whose label it bears.</summary>
internal sealed record PackDispensing(int Subject, int Visit, int Day, int Type, string? Starter, int? PackOwner);

/// <summary>A starter leaving the shelf: its scarcest type's kits as shipped, kits reported damaged, randomizations served, kits left per type, and why (used, expired, damaged, left at close).</summary>
internal sealed record StarterRecord(string Id, int Shipped, int Damaged, int Served, int[] KitsLeft, string Reason);
