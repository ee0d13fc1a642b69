using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Studies;
using Iwrs.Domain.Supply;
using Iwrs.Functions.Notifications;
using Iwrs.Storage.Stores;
using Azure.Data.Tables;

namespace Iwrs.Functions.Features;

/// <summary>
/// The supply hold (<see cref="SupplyHold"/>) and the one way kits reach a shelf. A hold starts once — inserting its
/// row is what starts it — audited in words that name no kit type, with an SMS to the depot managers (unblinded: they
/// are told which types are short); then an urgent shipment is ordered unless one is already on the way. Releasing a
/// whole shipment puts its ok kits on the shelf and lifts the site's hold in the same transaction.
/// </summary>
public sealed class SupplyHolds(Shipping shipping, ResupplyCheck resupply, TimeProvider time, ILogger<SupplyHolds> log)
{
    /// <summary>The reason a replacement shipment carries (public: blinded staff see shipments' reasons).</summary>
    public const string Replacing = "replacement";

    /// <summary>Starts a hold at <paramref name="site"/> (if it is not on one already) and orders the urgent shipment.</summary>
    public async Task EnterAsync(StudyContext context, Site site, string because, CancellationToken ct)
    {
        var study = context.Study.Configuration;
        var depot = await shipping.DepotManagersAsync(study.StudyId, ct);
        var quarantines = SupplyHold.Quarantines(study);
        var started = await context.Writes.RunAsync(study.StudyId, async attemptCt =>
        {
            if (await SupplyHoldRows.GetAsync(context.Table, study.StudyId, site.SiteId, attemptCt) is not null)
            {
                return Result<bool>.Ok(false);
            }

            // The hold row is read first: once it exists nothing is dispensed here, so the shelf read after it is the
            // shelf the hold starts with (the index rows' ETags guard it against a dispensing already under way).
            var shelf = quarantines ? await OnShelfAsync(context.Table, study.StudyId, site.SiteId, attemptCt) : [];
            var now = time.GetUtcNow();
            var actions = new StudyChange { SupplyHoldRows.Insert(study.StudyId, site.SiteId, now) };
            foreach (var kit in shelf.Take(SupplyHold.QuarantinePerTransaction))
            {
                actions.AddRange(KitRows.Quarantine(study.StudyId, kit));
            }

            await AuditTrail.SubmitAsync(context.Table, study.StudyId, actions, now, new AuditEntry(
                context.Caller.UserId, context.ActingAs.Name(), context.Channel, "site.supply-hold", $"site:{site.SiteId}",
                [
                    new AuditChange("supplyHold", null, "on"),
                    new AuditChange("during", null, because),
                    .. quarantines ? [new AuditChange("quarantined", null, shelf.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))] : Array.Empty<AuditChange>(),
                ]), attemptCt, (sequence, list) =>
            {
                var kept = quarantines ? $" The {shelf.Count} kit(s) on its shelf are quarantined and will not be dispensed." : string.Empty;
                var text = $"Iwrs {study.StudyId}: site {site.SiteId} is on supply hold (a kit type is short for one visit); nothing is randomized or dispensed there until a shipment is released.{kept} An urgent shipment is being ordered.";
                SmsNotices.Queue(list, study.StudyId, sequence, depot, text, "site.supply-hold", now);
            });
            return Result<bool>.Ok(true);
        }, ct);

        if (started.IsSuccess && started.Value && quarantines)
        {
            await QuarantineRestAsync(context, study.StudyId, site.SiteId, ct);
        }

        if (started.IsSuccess && started.Value)
        {
            try
            {
                var subjects = await SubjectRows.AllAsync(context.Table, study.StudyId, ct);
                await resupply.OrderAsync(context.Table, study, site, onHold: true, subjects, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The hold stands and the timer orders next time; type and stack only (messages can quote row keys).
                log.LogError("Urgent order for {Study}/{Site} failed: {Error} {Stack}", study.StudyId, site.SiteId, e.GetType().Name, e.StackTrace);
            }
        }
    }

    /// <summary>
    /// A shelf larger than <see cref="SupplyHold.QuarantinePerTransaction"/> at a hold's start: the rest, one
    /// transaction per batch, while the hold stands (nothing is dispensed meanwhile). Only a release at the site in
    /// these moments could lift the hold before the last batch; the next hold would then quarantine what is left.
    /// </summary>
    private async Task QuarantineRestAsync(StudyContext context, string studyId, string siteId, CancellationToken ct)
    {
        while (true)
        {
            var done = await context.Writes.RunAsync(studyId, async attemptCt =>
            {
                var shelf = await OnShelfAsync(context.Table, studyId, siteId, attemptCt);
                var losses = shelf.Count == 0 ? await LossRows.ForSiteAsync(context.Table, studyId, siteId, attemptCt) : [];
                if ((shelf.Count == 0 && losses.Count == 0) || await SupplyHoldRows.GetAsync(context.Table, studyId, siteId, attemptCt) is not { } hold)
                {
                    return Result<bool>.Ok(true);
                }

                var actions = new StudyChange { SupplyHoldRows.Write(studyId, hold) };
                foreach (var kit in shelf.Take(SupplyHold.QuarantinePerTransaction))
                {
                    actions.AddRange(KitRows.Quarantine(studyId, kit));
                }

                // The shelf quarantined, the site's losses are settled: their set-aside kits went with it, so no
                // replacement in the lost kits' types is ordered (it would leave the types as uneven as the losses
                // were), and one already on the way returns nothing. The urgent order rebalances the types.
                if (shelf.Count == 0)
                {
                    var settled = losses.Take(SupplyHold.QuarantinePerTransaction).ToList();
                    foreach (var loss in settled)
                    {
                        actions.Add(LossRows.Delete(studyId, loss));
                    }

                    await AuditTrail.SubmitAsync(context.Table, studyId, actions, time.GetUtcNow(), new AuditEntry(
                        context.Caller.UserId, context.ActingAs.Name(), context.Channel, "site.supply-hold", $"site:{siteId}",
                        [new AuditChange("lossesSettled", null, settled.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))]), attemptCt);
                    return Result<bool>.Ok(false);
                }

                await AuditTrail.SubmitAsync(context.Table, studyId, actions, time.GetUtcNow(), new AuditEntry(
                    context.Caller.UserId, context.ActingAs.Name(), context.Channel, "site.supply-hold", $"site:{siteId}",
                    [new AuditChange("quarantined", null, Math.Min(shelf.Count, SupplyHold.QuarantinePerTransaction).ToString(System.Globalization.CultureInfo.InvariantCulture))]), attemptCt);
                return Result<bool>.Ok(false);
            }, ct);
            if (!done.IsSuccess || done.Value)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Every kit physically on a blinded site's shelf: the dispensable ones and those set aside for a loss. A stock-out
    /// hold quarantines both: kits set aside after a loss are of the types the lost kits were not, so they too would
    /// tell arms if dispensed after the hold.
    /// </summary>
    private static async Task<IReadOnlyList<KitRows.IndexEntry>> OnShelfAsync(TableClient table, string studyId, string siteId, CancellationToken ct)
    {
        var shelf = KitRows.ShelfAsync(table, studyId, siteId, ct);
        var aside = KitRows.AsideAsync(table, studyId, siteId, ct);
        return [.. (await shelf).Select(k => k.Entry), .. (await aside).Select(k => k.Entry)];
    }

    /// <summary>
    /// Orders the replacement for a loss: the lost kits' types plus one kit of every type, so that its size (lost +
    /// number of types) is a public count and every type is in it. The shipment's transaction links it to the loss under
    /// the loss row's ETag, so a loss is replaced once; failing to order leaves the loss unlinked, and the timer orders
    /// it next time.
    /// </summary>
    public async Task ReplaceAsync(TableClient table, StudyConfiguration study, LossRows.Loss? loss, CancellationToken ct)
    {
        if (loss is null)
        {
            return;
        }

        try
        {
            await shipping.CreateAsync(table, study, loss.SiteId, Replacement(study, loss.Lost), Replacing, "system", "system", Channel.Timer, ct, replacing: loss);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError("Replacement order for {Study}/{Site} failed: {Error} {Stack}", study.StudyId, loss.SiteId, e.GetType().Name, e.StackTrace);
        }
    }

    public static Dictionary<string, int> Replacement(StudyConfiguration study, IReadOnlyDictionary<string, int> lost) =>
        study.KitTypes.ToDictionary(t => t.Code, t => lost.GetValueOrDefault(t.Code) + (study.IsBlinded ? 1 : 0), StringComparer.Ordinal)
            .Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    /// <summary>A kit that may be set aside for a loss: on the shelf already, or arriving with the shipment being released.</summary>
    public sealed record Candidate(string KitType, string KitNumber, DateOnly Expiry, KitRows.ShelfEntry? OnShelf);

    /// <summary>A kit lost: its type, its expiry and whether it counted as usable when lost.</summary>
    public sealed record LostKit(string KitType, DateOnly Expiry, bool Usable);

    /// <summary>What a loss wrote: its row, the kits set aside (by number) and whether a kit type is now short at the site.</summary>
    public sealed record Lossage(LossRows.Loss Loss, IReadOnlySet<string> SetAside, bool Short);

    /// <summary>
    /// Adds to <paramref name="actions"/> what a loss at <paramref name="siteId"/> writes: the loss row and, in a blinded
    /// study, the kits set aside for it (<see cref="SetAside"/>), chosen from <paramref name="pool"/> (the site's usable
    /// kits after the change, the lost ones not among them); shelf kits are taken here, arriving ones are for the caller
    /// to write as set aside. <see cref="Lossage.Short"/>: some type is now short for a visit, so the caller starts a
    /// stock-out hold — whichever kits were lost, since every type fell by the same count.
    /// </summary>
    public static Lossage Lose(StudyConfiguration study, string siteId, IReadOnlyList<LostKit> lost, IReadOnlyList<Candidate> pool, DateTimeOffset now, StudyChange actions, IReadOnlyList<string>? alsoUsable = null)
    {
        var loss = new LossRows.Loss(siteId, LossRows.NewId(now), lost.GroupBy(k => k.KitType).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal), null, now);
        actions.Add(LossRows.Insert(study.StudyId, loss));
        var counts = SetAside.Counts(study, lost.Count, lost.Where(k => k.Usable).GroupBy(k => k.KitType).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal));
        var near = SetAside.Near(lost.Select(k => k.Expiry));
        var chosen = new HashSet<string>(StringComparer.Ordinal);
        var left = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var type in study.KitTypes.Select(t => t.Code))
        {
            var ofType = pool.Where(k => k.KitType == type).ToList();
            var picked = SetAside.Choose(ofType, k => k.Expiry, counts.GetValueOrDefault(type), near);
            foreach (var kit in picked)
            {
                chosen.Add(kit.KitNumber);
                if (kit.OnShelf is { } entry)
                {
                    actions.AddRange(KitRows.SetAsideFromShelf(study.StudyId, entry, loss.LossId));
                }
            }

            left[type] = ofType.Count - picked.Count + (alsoUsable?.Count(t => t == type) ?? 0);
        }

        return new(loss, chosen, study.IsBlinded && SupplyHold.IsShort(study, left, study.KitTypes[0].Code));
    }

    /// <summary>The kits a released shipment lost (reported damaged or missing), per type.</summary>
    public static IReadOnlyDictionary<string, int> Lost(Shipment shipment) =>
        shipment.Kits.Where(k => k.Condition != KitCondition.Ok).GroupBy(k => k.KitType).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>What releasing a shipment did: whether it lifted a hold, and the loss it recorded (null: none).</summary>
    public sealed record Released(bool Lifted, Lossage? Loss);

    /// <summary>
    /// Adds to <paramref name="actions"/> what releasing <paramref name="shipment"/> to its site's shelf writes. If it is
    /// the replacement of a loss, the kits set aside for that loss return to the shelf and the loss row goes. Its kits
    /// are written as reported: ok kits on the shelf, and, if it lost kits itself, a new loss whose set-aside kits come
    /// from its own kits and the shelf (<see cref="Lose"/>). A stock-out hold lifts; so does a hold from before losses
    /// were set aside, once every replacement it counted is released (a count of losses and of releases, both public).
    /// A loss never holds the site: that cost 3.4 hold-days per site-year in the L. johnsonii simulation.
    /// </summary>
    public static async Task<Released> ReleaseAsync(TableClient table, StudyConfiguration study, Shipment shipment, DateTimeOffset now, StudyChange actions, CancellationToken ct)
    {
        var studyId = study.StudyId;
        var siteId = shipment.SiteId;
        var kitsRead = Task.WhenAll(shipment.Kits.Select(k => KitRows.GetAsync(table, studyId, k.KitNumber, ct)));
        var lossesRead = LossRows.ForSiteAsync(table, studyId, siteId, ct);
        var holdRead = SupplyHoldRows.GetAsync(table, studyId, siteId, ct);
        var kits = await kitsRead;
        var returning = (await lossesRead).Where(l => l.ReplacementId == shipment.ShipmentId).ToList();
        var returned = new List<KitRows.AsideEntry>();
        if (returning.Count > 0)
        {
            var ids = returning.Select(l => l.LossId).ToHashSet(StringComparer.Ordinal);
            returned.AddRange((await KitRows.AsideAsync(table, studyId, siteId, ct)).Where(k => ids.Contains(k.LossId)));
            foreach (var kit in returned)
            {
                actions.AddRange(KitRows.ReturnToShelf(studyId, kit));
            }

            foreach (var loss in returning)
            {
                actions.Add(LossRows.Delete(studyId, loss));
            }
        }

        Lossage? lossage = null;
        if (shipment.Kits.Any(k => k.Condition != KitCondition.Ok))
        {
            var site = study.FindSite(siteId)!;
            var usableFrom = Dispensability.EarliestAllowedExpiry(DateOnly.FromDateTime(now.UtcDateTime), study.VisitSchedule, site.Supply);
            var shelf = await KitRows.ShelfAsync(table, studyId, siteId, ct);
            var lines = shipment.Kits.Zip(kits, (line, kit) => (line, kit: kit!)).ToList();

            // The shipment's own kits first: set aside, they cost no more writes than shelved (ties keep this order).
            var pool = lines.Where(l => l.line.Condition == KitCondition.Ok && l.kit.Kit.Expiry >= usableFrom)
                .Select(l => new Candidate(l.line.KitType, l.line.KitNumber, l.kit.Kit.Expiry, null))
                .Concat(shelf.Where(k => k.Entry.Expiry >= usableFrom).Select(k => new Candidate(k.KitType, k.Entry.KitNumber, k.Entry.Expiry, k)))
                .ToList();
            var lost = lines.Where(l => l.line.Condition != KitCondition.Ok).Select(l => new LostKit(l.line.KitType, l.kit.Kit.Expiry, l.kit.Kit.Expiry >= usableFrom)).ToList();
            lossage = Lose(study, siteId, lost, pool, now, actions, [.. returned.Where(k => k.Entry.Expiry >= usableFrom).Select(k => k.KitType)]);
        }

        foreach (var (line, current) in shipment.Kits.Zip(kits))
        {
            if (line.Condition == KitCondition.Ok && lossage is not null && lossage.SetAside.Contains(line.KitNumber))
            {
                actions.AddRange(KitRows.ReceiveSetAside(studyId, current!, siteId, lossage.Loss.LossId));
                continue;
            }

            var status = line.Condition switch
            {
                KitCondition.Ok => KitStatus.Available,
                KitCondition.Damaged => KitStatus.Damaged,
                _ => KitStatus.Missing,
            };
            actions.AddRange(KitRows.Receive(studyId, current!, current!.Kit with { Status = status, Location = siteId }, siteId));
        }

        // A hold from before losses were set aside counts the replacements it is owed; a replacement pays one off.
        var hold = await holdRead;
        var replacements = Math.Max(0, (hold?.Replacements ?? 0) - (shipment.Reason == Replacing ? 1 : 0));
        if (hold is null)
        {
            return new(false, lossage);
        }

        if (replacements > 0)
        {
            actions.Add(SupplyHoldRows.Write(studyId, hold with { Replacements = replacements }));
            return new(false, lossage);
        }

        actions.Add(SupplyHoldRows.Delete(studyId, hold));
        return new(true, lossage);
    }
}
