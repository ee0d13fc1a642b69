using Iwrs.Domain;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Studies;
using Iwrs.Domain.Subjects;
using Iwrs.Domain.Supply;
using Iwrs.Functions.Hosting;
using Iwrs.Storage.Stores;
using Azure.Data.Tables;

namespace Iwrs.Functions.Features;

/// <summary>
/// The resupply timer: for every active site of every open study, the site's usable kits on the shelf plus kits on
/// the way — all types together, a count blinded staff can make themselves — against the trigger level; below it, one
/// shipment up to the maximum level, its kit types chosen by the rule (<see cref="IResupplyRule"/>) to rebalance the
/// site's per-type stock. A site on supply hold with nothing on the way gets an urgent shipment. Kits on the way
/// count, and the decision is taken again inside the write under the audit head's ETag, so running the check twice —
/// or on two instances at once — never orders twice.
/// </summary>
public sealed class ResupplyCheck(StudyStore studies, IwrsTable table, Shipping shipping, IResupplyRule rule, StudyWrites writes, TimeProvider time, IRandomSource random, ILogger<ResupplyCheck> log)
{
    public const string FunctionName = "ResupplyCheck";

    /// <summary>Shipments one run sends a site on subject packs at most (each up to <see cref="Shipping.PackShipmentMaxKits"/> kits).</summary>
    private const int MaxPackShipmentsPerRun = 10;

    public async Task<IReadOnlyList<string>> RunAsync(TimerInvocation invocation, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        var lines = new List<string>();
        foreach (var stored in await studies.ListAsync(ct))
        {
            var study = stored.Configuration;
            // On subject packs a closed study's subjects go on getting their packs (no more starters).
            if (study.Status != StudyStatus.Open && !(study.Status == StudyStatus.Closed && study.SubjectPacks is not null))
            {
                continue;
            }

            var holds = (await RandomizationState.ReadAsync(client, study.StudyId, ct)).Holds;
            var subjects = await SubjectRows.AllAsync(client, study.StudyId, ct);
            // On subject packs an inactive site's subjects still get their packs.
            foreach (var site in study.Sites.Where(s => s.Active || study.SubjectPacks is not null))
            {
                Result<Shipment>? created;
                try
                {
                    if (study.SubjectPacks is not null)
                    {
                        await RetireStartersAsync(client, study, site, lines, ct);
                        await RetireExpiredPacksAsync(client, study, site, lines, ct);

                        // One shipment holds so many kits: more shipments leave while packs are due.
                        for (var n = 0; n < MaxPackShipmentsPerRun && await OrderPacksAsync(client, study, site, ct) is { } shipped; n++)
                        {
                            Note(lines, study, site, shipped);
                            if (!shipped.IsSuccess)
                            {
                                break;
                            }
                        }

                        continue;
                    }

                    // Losses first: the rest of a release's set-aside kits, then a replacement not yet ordered (the
                    // depot was short, or the order failed). Neither stops the site's own order.
                    var losses = await LossRows.ForSiteAsync(client, study.StudyId, site.SiteId, ct);
                    foreach (var returning in losses.Where(l => l.Returning))
                    {
                        await SupplyHolds.ReturnRestAsync(writes, time, random, client, study.StudyId, returning, "system", "system", Channel.Timer, ct);
                    }

                    if (losses.FirstOrDefault(l => l.ReplacementId is null) is { } unreplaced)
                    {
                        Note(lines, study, site, await shipping.ReplaceAsync(client, study, unreplaced, ct));
                    }

                    created = holds.GetValueOrDefault(site.SiteId) is { Replacements: > 0, ToReplace.Count: > 0 } owed
                        ? await ReplaceAsync(client, study, site, owed.ToReplace, ct)
                        : await OrderAsync(client, study, site, holds.ContainsKey(site.SiteId), subjects, ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One site's failure must not leave every later site unsupplied until the next run.
                    // Type and stack only: exception messages can quote row keys, which name kit types.
                    log.LogError("Resupply check failed for {Study}/{Site}: {Error} {Stack}", study.StudyId, site.SiteId, e.GetType().Name, e.StackTrace);
                    lines.Add($"{study.StudyId}/{site.SiteId}: failed ({e.GetType().Name})");
                    continue;
                }

                Note(lines, study, site, created);
            }
        }

        lines.Add(lines.Count == 0 ? "no site below its trigger level" : $"{lines.Count} site(s) handled");
        return lines;
    }

    /// <summary>A line for what one order did (nothing: no line).</summary>
    private void Note(List<string> lines, StudyConfiguration study, Site site, Result<Shipment>? created)
    {
        if (created is not { } outcome)
        {
            return;
        }

        if (outcome.IsSuccess)
        {
            lines.Add($"{study.StudyId}/{site.SiteId}: shipment {outcome.Value.ShipmentId} with {outcome.Value.Kits.Count} kits");
        }
        else if (outcome.Error!.Code != "no-longer-needed")
        {
            // Said without kit types: the log is read by people who may be blinded.
            log.LogWarning("Resupply for {Study}/{Site} not ordered: {Code}", study.StudyId, site.SiteId, outcome.Error.Code);
            lines.Add($"{study.StudyId}/{site.SiteId}: not ordered ({outcome.Error.Code})");
        }
    }

    /// <summary>
    /// Orders what one site needs now (null: nothing). <paramref name="onHold"/>: the site is on supply hold, which
    /// orders urgently when nothing is on the way.
    /// </summary>
    public async Task<Result<Shipment>?> OrderAsync(TableClient client, StudyConfiguration study, Site site, bool onHold, IReadOnlyList<Subject> subjects, CancellationToken ct)
    {
        if (study.SubjectPacks is not null)
        {
            return await OrderPacksAsync(client, study, site, ct);
        }

        var need = await NeedAsync(client, study, site, onHold, subjects, ct);
        if (need.Count == 0)
        {
            return null;
        }

        return await shipping.CreateAsync(
            client, study, site.SiteId, need, onHold ? "urgent" : "resupply", "system", "system", Channel.Timer, ct,
            recompute: () => NeedAsync(client, study, site, onHold, subjects, ct));
    }

    /// <summary>
    /// Subject packs: the site's shipment of the day, if one leaves today (<see cref="SubjectPacks.ShipsToday"/>):
    /// starters while the randomizations its starters can serve (on the shelf and still dispensable when a starter
    /// ordered now could replace them, and on the way) fall below the starter trigger (<see cref="SubjectPacks.StartersToOrder"/>),
    /// and, with them or once a pack reaches its last day (<see cref="SubjectPacks.PackShipBy"/>), every pack owed to the
    /// site's subjects, as many as one shipment holds (<see cref="Shipping.PackShipmentMaxKits"/>; the rest leave in the
    /// next). Public counts and dates only: kits left of each starter whatever their types, kits owed per subject. A site
    /// on hold has no starter capacity, so it gets starters unless some are on the way.
    /// </summary>
    private async Task<Result<Shipment>?> OrderPacksAsync(TableClient client, StudyConfiguration study, Site site, CancellationToken ct)
    {
        if (await PackPlanAsync(client, study, site, ct) is not { } plan)
        {
            return null;
        }

        // The reason is public: blinded staff see what the shipment holds anyway.
        var reason = plan.Packs.Count == 0 ? "starters" : plan.Starters == 0 ? "packs" : "starters and packs";
        return await shipping.CreateAsync(
            client, study, site.SiteId, new Dictionary<string, int>(), reason, "system", "system", Channel.Timer, ct,
            automatic: true, packing: () => PackPlanAsync(client, study, site, ct));
    }

    /// <summary>Starter kits retired per transaction (two writes each, beside the audit record).</summary>
    private const int RetirePerTransaction = 40;

    /// <summary>
    /// Subject packs: starters that can serve no more (capacity 0), whose kits passed the do-not-dispense limit, or of a
    /// study closed to randomization leave the shelf: their kits are retired, whole starters at a time, for the depot to
    /// take back. All are public (counts left, the printed date, the study's status), so which kits leave, and when,
    /// says nothing of their types.
    /// </summary>
    private async Task RetireStartersAsync(TableClient client, StudyConfiguration study, Site site, List<string> lines, CancellationToken ct)
    {
        var kitsPerVisit = study.VisitSchedule.KitsPerVisit;
        for (var round = 0; round < MaxPackShipmentsPerRun; round++)
        {
            var retired = await writes.RunAsync(study.StudyId, async attemptCt =>
            {
                var now = time.GetUtcNow();
                var usableFrom = Dispensability.EarliestAllowedExpiry(DateOnly.FromDateTime(now.UtcDateTime), study.VisitSchedule, site.Supply);
                var leaving = new List<(string Id, string Why, IReadOnlyList<KitRows.ShelfEntry> Kits)>();
                foreach (var (counts, kits) in Starters.Of(await KitRows.ShelfAsync(client, study.StudyId, site.SiteId, attemptCt)))
                {
                    var why = study.Status == StudyStatus.Closed ? "enrolment closed" : counts.Capacity(kitsPerVisit) == 0 ? "used" : counts.Expiry < usableFrom ? "expired" : null;
                    if (why is not null && (leaving.Count == 0 || leaving.Sum(l => l.Kits.Count) + kits.Count <= RetirePerTransaction))
                    {
                        leaving.Add((counts.Id, why, kits));
                    }
                }

                if (leaving.Count == 0)
                {
                    return Result<int>.Ok(0);
                }

                var actions = new StudyChange();
                foreach (var kit in leaving.SelectMany(l => l.Kits))
                {
                    actions.AddRange(KitRows.Retire(study.StudyId, kit.Entry));
                }

                await AuditTrail.SubmitAsync(client, study.StudyId, actions, now, new AuditEntry(
                    "system", "system", Channel.Timer, "starters.retired", $"site:{site.SiteId}",
                    [.. leaving.Select(l => new AuditChange($"starter:{l.Id}", null, FormattableString.Invariant($"{l.Why}, {l.Kits.Count} kit(s) retired")))]), attemptCt);
                return Result<int>.Ok(leaving.Count);
            }, ct);
            if (!retired.IsSuccess || retired.Value == 0)
            {
                return;
            }

            lines.Add($"{study.StudyId}/{site.SiteId}: {retired.Value} starter(s) retired");
        }
    }

    /// <summary>
    /// Subject packs: kits in a subject's pack that passed the do-not-dispense limit (a visit later than its window)
    /// can never be dispensed: they are retired, and, while the subject has visits left, the next visits' kits are owed
    /// again at once (<see cref="SubjectPacks.OrderForLateVisit"/>), once per visit: a subject who still has not come
    /// when that pack too has passed the limit is owed nothing more until a dispensing is tried for them
    /// (<see cref="LatePacks"/>). Public: the printed date and the subject's visits.
    /// </summary>
    private async Task RetireExpiredPacksAsync(TableClient client, StudyConfiguration study, Site site, List<string> lines, CancellationToken ct)
    {
        var usableFrom = Dispensability.EarliestAllowedExpiry(DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime), study.VisitSchedule, site.Supply);
        var expired = (await KitRows.PacksAtSiteAsync(client, study.StudyId, site.SiteId, ct)).Where(k => k.Entry.Expiry < usableFrom).Select(k => k.SubjectId).Distinct(StringComparer.Ordinal).ToList();
        foreach (var subjectId in expired)
        {
            var done = await writes.RunAsync(study.StudyId, async attemptCt =>
            {
                // The head first: the subject's visits and ledger read after it cannot change unseen before the write.
                var head = await AuditTrail.ReadHeadAsync(client, study.StudyId, attemptCt);
                var now = time.GetUtcNow();
                var today = DateOnly.FromDateTime(now.UtcDateTime);
                var pack = await KitRows.PackAsync(client, study.StudyId, site.SiteId, subjectId, attemptCt);
                var kits = pack.Where(k => k.Expiry < usableFrom).ToList();
                if (kits.Count == 0)
                {
                    return Result<int>.Ok(0);
                }

                var actions = new StudyChange();
                foreach (var kit in kits)
                {
                    actions.AddRange(KitRows.Retire(study.StudyId, kit));
                }

                var changes = new List<AuditChange> { new("retired", null, FormattableString.Invariant($"{kits.Count} kit(s) past the dispensing limit")) };
                var subject = await SubjectRows.GetAsync(client, study.StudyId, subjectId, attemptCt);
                var visitsDone = subject is null ? 0 : SubjectRules.VisitsDone(study.VisitSchedule, subject.Subject);
                if (subject is not null && visitsDone < study.VisitSchedule.DispensingVisits && await PackRows.GetAsync(client, study.StudyId, site.SiteId, subjectId, attemptCt) is { } ledger)
                {
                    var have = pack.Count - kits.Count + ledger.InTransit + ledger.Ordered;
                    if (ledger.LateOrderAfter == visitsDone)
                    {
                        changes.Add(new("owed", null, "nothing: a pack for this late visit was owed already; a dispensing tried for the subject orders one"));
                    }
                    else if (SubjectPacks.OrderForLateVisit(visitsDone, have, today, study.VisitSchedule, site.Supply, study.SubjectPacks!) is { } order)
                    {
                        actions.Add(PackRows.Write(study.StudyId, LatePacks.Owe(ledger, order, visitsDone)));
                        changes.Add(new("owed", null, FormattableString.Invariant($"{order.Kits} kit(s)")));
                    }
                }

                await AuditTrail.SubmitAsync(client, study.StudyId, actions, now, new AuditEntry(
                    "system", "system", Channel.Timer, "pack.kits-retired", $"subject:{subjectId}", changes), attemptCt, head: head);
                return Result<int>.Ok(kits.Count);
            }, ct);
            if (done.IsSuccess && done.Value > 0)
            {
                lines.Add($"{study.StudyId}/{site.SiteId}: {done.Value} pack kit(s) retired");
            }
        }
    }

    private async Task<Shipping.PackShipment?> PackPlanAsync(TableClient client, StudyConfiguration study, Site site, CancellationToken ct)
    {
        var packs = study.SubjectPacks!;
        var kitsPerVisit = study.VisitSchedule.KitsPerVisit;
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var openRead = ShipmentRows.OpenForSiteAsync(client, study.StudyId, site.SiteId, ct);
        var ledgersRead = PackRows.ForSiteAsync(client, study.StudyId, site.SiteId, ct);
        var holdRead = SupplyHoldRows.GetAsync(client, study.StudyId, site.SiteId, ct);
        var shelf = await KitRows.ShelfAsync(client, study.StudyId, site.SiteId, ct);

        // A site on hold counts no starter on its shelf: whatever is there (a hold that raced a release), starters come
        // and their release lifts the hold.
        var onShelf = await holdRead is null ? Starters.Of(shelf).Select(s => s.Counts) : [];
        var onTheWay = (await openRead).SelectMany(o => o.Starters ?? []).Select(s => SubjectPacks.FromShelf(s.Starter, DateOnly.MaxValue, s.Remaining));
        var perStarter = SubjectPacks.Serves(SubjectPacks.StarterKits(study, packs.StarterSize), kitsPerVisit);
        var counted = SubjectPacks.CountedCapacity(onShelf, onTheWay, 0, perStarter, Dispensability.EarliestCountedExpiry(today, study.VisitSchedule, site.Supply), kitsPerVisit);
        var starters = Math.Min(SubjectPacks.StartersToOrder(counted, packs.StarterTrigger, int.MaxValue, perStarter), Shipping.PackShipmentMaxKits / packs.StarterSize);
        var owed = (await ledgersRead).Where(l => l.Ordered > 0).OrderBy(l => l.ShipBy).ThenBy(l => l.SubjectId, StringComparer.Ordinal).ToList();
        if (!site.Active || study.Status != StudyStatus.Open)
        {
            // An inactive site, or a closed study, randomizes nobody: no starters, but the subjects' packs still go.
            starters = 0;
        }

        if (!SubjectPacks.ShipsToday(today, starters, owed.Select(l => l.ShipBy)))
        {
            return null;
        }

        var room = Shipping.PackShipmentMaxKits - (starters * packs.StarterSize);
        var going = new List<PackRows.Ledger>();
        foreach (var ledger in owed.Where(l => l.Ordered <= room))
        {
            going.Add(ledger);
            room -= ledger.Ordered;
        }

        return starters == 0 && going.Count == 0 ? null : new Shipping.PackShipment(starters, going);
    }

    /// <summary>A site on a hold from before losses were set aside, with nothing on the way: its lost kits' replacement is ordered again.</summary>
    private async Task<Result<Shipment>?> ReplaceAsync(TableClient client, StudyConfiguration study, Site site, IReadOnlyDictionary<string, int> owed, CancellationToken ct)
    {
        if ((await ShipmentRows.OpenForSiteAsync(client, study.StudyId, site.SiteId, ct)).Count > 0)
        {
            return null;
        }

        // Automatic: its number of kits is kept whatever the depot holds of each type, like every other automatic order.
        return await shipping.CreateAsync(client, study, site.SiteId, SupplyHolds.Replacement(study, owed), SupplyHolds.Replacing, "system", "system", Channel.Timer, ct, automatic: true);
    }

    /// <summary>Kits of each type to order for one site (none: stock is fine). Kits that will not last until a shipment ordered now could replace them do not count.</summary>
    private async Task<IReadOnlyDictionary<string, int>> NeedAsync(TableClient client, StudyConfiguration study, Site site, bool onHold, IReadOnlyList<Subject> subjects, CancellationToken ct)
    {
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var usableFrom = Dispensability.EarliestCountedExpiry(today, study.VisitSchedule, site.Supply);
        var openRead = ShipmentRows.OpenForSiteAsync(client, study.StudyId, site.SiteId, ct);
        var shelfRead = KitRows.ShelfAsync(client, study.StudyId, site.SiteId, ct);
        var asideRead = KitRows.AsideAsync(client, study.StudyId, site.SiteId, ct);
        var open = await openRead;

        // Kits set aside for a loss are on the shelf as blinded staff count it, and return with the loss's replacement.
        var shelf = (await shelfRead).Select(k => (k.KitType, k.Entry)).Concat((await asideRead).Select(k => (k.KitType, k.Entry)))
            .Where(k => k.Entry.Expiry >= usableFrom).ToList();
        var stock = study.KitTypes.Select(type => new StockLevel(
            type.Code,
            shelf.Count(k => k.KitType == type.Code),
            open.Sum(o => o.InTransit.GetValueOrDefault(type.Code)),
            subjects.Count(s => s.SiteId == site.SiteId && s.KitType == type.Code && s.Status == SubjectStatus.Randomized))).ToList();
        return rule.Need(study, site.Supply, stock, random, urgent: onHold && open.Count == 0);
    }
}
