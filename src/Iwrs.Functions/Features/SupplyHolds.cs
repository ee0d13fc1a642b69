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
public sealed class SupplyHolds(Shipping shipping, ResupplyCheck resupply, StudyWrites writes, TimeProvider time, IRandomSource random, ILogger<SupplyHolds> log)
{
    /// <summary>The reason a replacement shipment carries (public: blinded staff see shipments' reasons).</summary>
    public const string Replacing = "replacement";

    /// <summary>
    /// Starts a hold at <paramref name="site"/> (if it is not on one already) and orders the urgent shipment. False:
    /// no hold was needed after all (subject packs: a starter released since the refusal can serve), so the refused
    /// randomization may be tried again.
    /// </summary>
    public async Task<bool> EnterAsync(StudyContext context, Site site, string because, CancellationToken ct)
    {
        var study = context.Study.Configuration;
        var depot = await shipping.DepotManagersAsync(study.StudyId, ct);
        var quarantines = SupplyHold.Quarantines(study);
        var notNeeded = false;
        var started = await context.Writes.RunAsync(study.StudyId, async attemptCt =>
        {
            notNeeded = false;
            // Subject packs: the head first, then the shelf. A starter released since the randomization was refused
            // can serve, so there is no hold; and one released after this read moves the head and fails this write.
            var head = study.SubjectPacks is null ? null : await AuditTrail.ReadHeadAsync(context.Table, study.StudyId, attemptCt);
            if (await SupplyHoldRows.GetAsync(context.Table, study.StudyId, site.SiteId, attemptCt) is not null)
            {
                return Result<bool>.Ok(false);
            }

            if (study.SubjectPacks is not null && RandomizationFunctions.CanRandomizeFrom(study, site, await KitRows.ShelfAsync(context.Table, study.StudyId, site.SiteId, attemptCt), time.GetUtcNow()))
            {
                notNeeded = true;
                return Result<bool>.Ok(false);
            }

            // The hold row is read first: once it exists nothing is dispensed here, so the shelf read after it is the
            // shelf the hold starts with (the index rows' ETags guard it against a dispensing already under way).
            var shelf = quarantines ? await KitRows.ShelfAsync(context.Table, study.StudyId, site.SiteId, attemptCt) : [];
            var now = time.GetUtcNow();
            var actions = new StudyChange { SupplyHoldRows.Insert(study.StudyId, site.SiteId, now) };
            foreach (var kit in InRandomOrder(shelf, k => k.Entry.KitNumber, random).Take(SupplyHold.QuarantinePerTransaction))
            {
                actions.AddRange(KitRows.Quarantine(study.StudyId, kit.Entry));
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
                var text = study.SubjectPacks is null
                    ? $"Iwrs {study.StudyId}: site {site.SiteId} is on supply hold (a kit type is short for one visit); nothing is randomized or dispensed there until a shipment is released.{kept} An urgent shipment is being ordered."
                    : $"Iwrs {study.StudyId}: site {site.SiteId} is on supply hold (no starter left to randomize from); nothing is randomized there until a shipment is released. Starters are being ordered.";
                SmsNotices.Queue(list, study.StudyId, sequence, depot, text, "site.supply-hold", now);
            }, head);
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

        return !(started.IsSuccess && notNeeded);
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
                var shelf = await KitRows.ShelfAsync(context.Table, studyId, siteId, attemptCt);
                if (shelf.Count == 0 || await SupplyHoldRows.GetAsync(context.Table, studyId, siteId, attemptCt) is not { } hold)
                {
                    return Result<bool>.Ok(true);
                }

                var actions = new StudyChange { SupplyHoldRows.Write(studyId, hold) };
                foreach (var kit in InRandomOrder(shelf, k => k.Entry.KitNumber, random).Take(SupplyHold.QuarantinePerTransaction))
                {
                    actions.AddRange(KitRows.Quarantine(studyId, kit.Entry));
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
    /// Orders the replacement for a loss: the lost kits' types plus one kit of every type, so that its size (lost +
    /// number of types) is a public count and every type is in it; in a blinded study a type the depot is short of is
    /// made up from the others, as for every automatic order, so whether it ships never depends on the lost kits' types.
    /// The shipment's transaction links it to the loss under the loss row's ETag, so a loss is replaced once; failing to
    /// order leaves the loss unlinked, and the timer orders it next time.
    /// </summary>
    public async Task ReplaceAsync(TableClient table, StudyConfiguration study, LossRows.Loss? loss, CancellationToken ct)
    {
        if (loss is null)
        {
            return;
        }

        try
        {
            await shipping.ReplaceAsync(table, study, loss, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError("Replacement order for {Study}/{Site} failed: {Error} {Stack}", study.StudyId, loss.SiteId, e.GetType().Name, e.StackTrace);
        }
    }

    /// <summary>The lost kits' types plus one kit of every type (blinded), at most a shipment's worth (<see cref="Shipment.MaxKits"/>).</summary>
    public static Dictionary<string, int> Replacement(StudyConfiguration study, IReadOnlyDictionary<string, int> lost) =>
        Resupply.Cap(
            study.KitTypes.ToDictionary(t => t.Code, t => lost.GetValueOrDefault(t.Code) + (study.IsBlinded ? 1 : 0), StringComparer.Ordinal)
                .Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
            Shipment.MaxKits,
            study.IsBlinded);

    /// <summary>
    /// Adds to <paramref name="actions"/> a kit lost from <paramref name="siteId"/>'s shelf after release: the loss row,
    /// and in a blinded study (<see cref="SetAside.HoldsOnShelfLoss"/>) the site's hold with one more replacement owed —
    /// started by the report if the site was not on hold, whatever the kit, so the hold says nothing about its type.
    /// </summary>
    public static async Task<LossRows.Loss> LoseFromShelfAsync(TableClient table, StudyConfiguration study, string siteId, string kitType, DateTimeOffset now, StudyChange actions, CancellationToken ct, string? waitsFor = null)
    {
        var holds = SetAside.HoldsOnShelfLoss(study);
        var loss = new LossRows.Loss(siteId, LossRows.NewId(now), new Dictionary<string, int> { [kitType] = 1 }, null, now, Holds: holds, WaitsFor: waitsFor);
        actions.Add(LossRows.Insert(study.StudyId, loss));
        if (holds)
        {
            var hold = await SupplyHoldRows.GetAsync(table, study.StudyId, siteId, ct) ?? new SupplyHoldRows.Hold(siteId, now, new Dictionary<string, int>(), null);
            actions.Add(SupplyHoldRows.Write(study.StudyId, hold with { Replacements = hold.Replacements + 1 }));
        }

        return loss;
    }

    /// <summary>The kits a released shipment lost (reported damaged or missing), per type.</summary>
    public static IReadOnlyDictionary<string, int> Lost(Shipment shipment) =>
        shipment.Kits.Where(k => k.Condition != KitCondition.Ok).GroupBy(k => k.KitType).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>
    /// Adds to <paramref name="actions"/> the loss of a shipment whose receipt reported kits damaged or missing: its row,
    /// recorded with the receipt so that the replacement is ordered at once, not when the depot releases the shipment.
    /// </summary>
    public static LossRows.Loss LoseAtReceipt(string studyId, Shipment shipment, DateTimeOffset now, StudyChange actions)
    {
        var loss = ReceiptLoss(shipment, Lost(shipment), now);
        actions.Add(LossRows.Insert(studyId, loss));
        return loss;
    }

    private static LossRows.Loss ReceiptLoss(Shipment shipment, IReadOnlyDictionary<string, int> lost, DateTimeOffset now) =>
        new(shipment.SiteId, LossRows.NewId(now), lost, null, now, ShipmentId: shipment.ShipmentId);

    /// <summary>
    /// What releasing a shipment did: whether it lifted a hold, whether its kits were set aside, and the losses whose
    /// set-aside kits did not all fit in its transaction (the rest are returned after it).
    /// </summary>
    public sealed record Released(bool Lifted, bool SetAside, IReadOnlyList<LossRows.Loss> StillReturning, LossRows.Loss? NewLoss);

    /// <summary>Writes kept free in a release's transaction for its shipment rows, audit record, head and SMS rows.</summary>
    private const int ReleaseMargin = 20;

    /// <summary>Set-aside kits returned per transaction after a release (3 writes each).</summary>
    private const int ReturnPerTransaction = 25;

    /// <summary>
    /// Adds to <paramref name="actions"/> what releasing <paramref name="shipment"/> to its site's shelf writes. In a
    /// blinded study a loss reaches the shelf whole (<see cref="SetAside"/>): of the shipment that lost kits at receipt
    /// and its replacement, the one released first has its ok kits set aside for the loss, and the second brings them
    /// to the shelf with its own (as many as the transaction holds; the rest follow) and the loss row goes. A kit lost
    /// from the shelf is settled by its replacement's release alone. A replacement that itself lost kits carries the
    /// losses it replaces over to its own loss, so everything waits for the next replacement. The site's hold: one for
    /// kits lost from the shelf lifts once every replacement it is owed has brought its kits to the shelf (a count of
    /// reports and of releases, both public); a stock-out hold lifts at a release that puts kits on the shelf.
    /// </summary>
    public async Task<Released> ReleaseAsync(TableClient table, StudyConfiguration study, Shipment shipment, DateTimeOffset now, StudyChange actions, CancellationToken ct)
    {
        var studyId = study.StudyId;
        var siteId = shipment.SiteId;
        var kitsRead = Task.WhenAll(shipment.Kits.Select(k => KitRows.GetAsync(table, studyId, k.KitNumber, ct)));
        if (!SetAside.Replaces(study))
        {
            return await ReleaseWholeAsync(table, study, shipment, await kitsRead, actions, ct);
        }

        var lossesRead = LossRows.ForSiteAsync(table, studyId, siteId, ct);
        var holdRead = SupplyHoldRows.GetAsync(table, studyId, siteId, ct);
        var kits = await kitsRead;
        var losses = await lossesRead;
        var lost = Lost(shipment);
        var lostHere = lost.Values.Sum();

        // This shipment's own loss (recorded at receipt; one from an older receipt is recorded now) and the losses it replaces.
        var newLoss = losses.Any(l => l.ShipmentId == shipment.ShipmentId) || lostHere == 0 ? null : ReceiptLoss(shipment, lost, now);
        var own = newLoss ?? losses.FirstOrDefault(l => l.ShipmentId == shipment.ShipmentId);

        var paid = losses.Where(l => l.ReplacementId == shipment.ShipmentId && l.LossId != own?.LossId).ToList();
        var blinded = study.IsBlinded;
        LossRows.Loss? waitFor = null;
        var completing = new List<LossRows.Loss>();
        var merged = new List<LossRows.Loss>();
        if (blinded && own is not null && SetAside.AtRelease(study, lostHere))
        {
            // Its kits wait for its own replacement, unless that was released first (then both reach the shelf now).
            if (own.ReplacementReleased)
            {
                completing.Add(own);
                completing.AddRange(paid);
            }
            else
            {
                waitFor = own with { SourceReleased = true };
                merged.AddRange(paid);
            }
        }
        else if (blinded && paid.Count == 1 && paid[0].WaitsFor is { } waits && losses.FirstOrDefault(l => l.LossId == waits) is { } group)
        {
            // The replacement of a set-aside kit that had no stand-in: its kits wait, with that kit's loss, for the rest.
            waitFor = group;
            merged.Add(paid[0]);
        }
        else if (blinded && paid.Count == 1 && paid[0].ShipmentId is not null && !paid[0].SourceReleased)
        {
            // A replacement released before the shipment it replaces: its kits wait for that one.
            waitFor = paid[0] with { ReplacementReleased = true };
        }
        else
        {
            completing.AddRange(paid);
        }

        var shelved = 0;
        foreach (var (line, current) in shipment.Kits.Zip(kits))
        {
            if (line.Condition == KitCondition.Ok && waitFor is not null)
            {
                actions.AddRange(KitRows.ReceiveSetAside(studyId, current!, siteId, waitFor.LossId));
                continue;
            }

            var status = line.Condition switch
            {
                KitCondition.Ok => KitStatus.Available,
                KitCondition.Damaged => KitStatus.Damaged,
                _ => KitStatus.Missing,
            };
            shelved += status == KitStatus.Available ? 1 : 0;
            actions.AddRange(KitRows.Receive(studyId, current!, current!.Kit with { Status = status, Location = siteId }, siteId));
        }

        var aside = completing.Count + merged.Count > 0 ? await KitRows.AsideAsync(table, studyId, siteId, ct) : [];

        // Losses carried over wait for this shipment's replacement: their kits (and their place in a hold) go with it.
        foreach (var carried in merged)
        {
            foreach (var kit in aside.Where(k => k.LossId == carried.LossId))
            {
                actions.Add(KitRows.Retag(studyId, kit, waitFor!.LossId));
            }

            actions.Add(LossRows.Delete(studyId, carried));
            waitFor = waitFor! with { Holds = waitFor.Holds || carried.Holds };
        }

        if (waitFor is not null)
        {
            actions.Add(waitFor.ETag is null ? LossRows.Insert(studyId, waitFor) : LossRows.Replace(studyId, waitFor));
        }
        else if (newLoss is not null)
        {
            actions.Add(LossRows.Insert(studyId, newLoss));
        }

        var still = new List<LossRows.Loss>();
        var room = Math.Max(0, (StudyChange.MaxActions - ReleaseMargin - actions.Count - completing.Count) / 3);
        foreach (var done in completing)
        {
            var its = InRandomOrder(aside.Where(k => k.LossId == done.LossId).ToList(), k => k.Entry.KitNumber, random);
            foreach (var kit in its.Take(room))
            {
                actions.AddRange(KitRows.ReturnToShelf(studyId, kit));
            }

            shelved += Math.Min(room, its.Count);
            if (its.Count <= room)
            {
                actions.Add(LossRows.Delete(studyId, done));
            }
            else
            {
                actions.Add(LossRows.Replace(studyId, done with { Returning = true }));
                still.Add(done);
            }

            room = Math.Max(0, room - its.Count);
        }

        var hold = await holdRead;
        if (hold is null)
        {
            return new(false, waitFor is not null, still, newLoss);
        }

        // The hold counts the site's losses from the shelf whose kits are not level yet: the loss rows that hold, after
        // this release deleted, carried over or kept them, and any count from before losses had rows (a replacement pays
        // one of those off). Counting rows, not releases, a hold lifts exactly when the last such loss comes back whole.
        var holding = losses.Where(l => l.Holds).Select(l => l.LossId).ToHashSet(StringComparer.Ordinal);
        holding.ExceptWith(completing.Concat(merged).Select(l => l.LossId));
        if (waitFor is { Holds: true })
        {
            holding.Add(waitFor.LossId);
        }

        var legacy = Math.Max(0, hold.Replacements - losses.Count(l => l.Holds)) - (shipment.Reason == Replacing && paid.Count == 0 && own is null ? 1 : 0);
        var replacements = holding.Count + Math.Max(0, legacy);
        if (replacements > 0 || shelved == 0)
        {
            actions.Add(SupplyHoldRows.Write(studyId, hold with { Replacements = replacements }));
            return new(false, waitFor is not null, still, newLoss);
        }

        actions.Add(SupplyHoldRows.Delete(studyId, hold));
        return new(true, waitFor is not null, still, newLoss);
    }

    /// <summary>
    /// A release on subject packs: the ok kits reach the site (starter kits the shelf, with their starter; pack kits
    /// their subject's pack), the lost ones are recorded as lost. A lost starter kit costs its starter capacity and is
    /// not replaced (<see cref="SetAside.Replaces"/>); a lost pack kit is owed to its subject again, to leave at once.
    /// A hold (no starter could serve) lifts when starter kits reach the shelf.
    /// </summary>
    private static async Task<Released> ReleaseWholeAsync(TableClient table, StudyConfiguration study, Shipment shipment, KitRows.StoredKit?[] kits, StudyChange actions, CancellationToken ct)
    {
        var today = DateOnly.FromDateTime(shipment.ReleasedAt!.Value.UtcDateTime);
        var retiring = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pack in shipment.Kits.Where(k => k.PackFor is not null).GroupBy(k => k.PackFor!, StringComparer.Ordinal))
        {
            if (await PackRows.GetAsync(table, study.StudyId, shipment.SiteId, pack.Key, ct) is not { } ledger)
            {
                // Its subject stopped meanwhile: the pack is retired on arrival.
                retiring.UnionWith(pack.Select(k => k.KitNumber));
                continue;
            }

            var lost = pack.Count(k => k.Condition != KitCondition.Ok);
            actions.Add(PackRows.Write(study.StudyId, ledger with
            {
                InTransit = Math.Max(0, ledger.InTransit - pack.Count()),
                Ordered = ledger.Ordered + lost,
                ShipBy = lost > 0 ? today : ledger.ShipBy,
            }));
        }

        var shelved = 0;
        foreach (var (line, current) in shipment.Kits.Zip(kits))
        {
            var status = line.Condition switch
            {
                KitCondition.Ok when retiring.Contains(line.KitNumber) => KitStatus.Retired,
                KitCondition.Ok => KitStatus.Available,
                KitCondition.Damaged => KitStatus.Damaged,
                _ => KitStatus.Missing,
            };
            shelved += status == KitStatus.Available && line.Starter is not null ? 1 : 0;
            actions.AddRange(KitRows.Receive(study.StudyId, current!, current!.Kit with { Status = status, Location = shipment.SiteId }, shipment.SiteId));
        }

        if (shelved == 0 || await SupplyHoldRows.GetAsync(table, study.StudyId, shipment.SiteId, ct) is not { } hold)
        {
            return new(false, false, [], null);
        }

        actions.Add(SupplyHoldRows.Delete(study.StudyId, hold));
        return new(true, false, [], null);
    }

    /// <summary>
    /// The set-aside kits of a released replacement's loss that did not fit in the release's transaction: returned to
    /// the shelf <see cref="ReturnPerTransaction"/> at a time, audited; the loss row goes with the last. Run after the
    /// release, and by the timer for any loss left returning.
    /// </summary>
    public async Task ReturnRestAsync(StudyContext context, IReadOnlyList<LossRows.Loss> returning, CancellationToken ct)
    {
        foreach (var loss in returning)
        {
            await ReturnRestAsync(writes, time, random, context.Table, context.StudyId, loss, context.Caller.UserId, context.ActingAs.Name(), context.Channel, ct);
        }
    }

    /// <summary>The rest of a released replacement's set-aside kits, for the timer (which has no <see cref="SupplyHolds"/>).</summary>
    public static async Task ReturnRestAsync(StudyWrites writes, TimeProvider time, IRandomSource random, TableClient table, string studyId, LossRows.Loss loss, string userId, string role, Channel channel, CancellationToken ct)
    {
        while (true)
        {
            var done = await writes.RunAsync(studyId, async attemptCt =>
            {
                var current = await LossRows.GetAsync(table, studyId, loss.SiteId, loss.LossId, attemptCt);
                if (current is not { Returning: true })
                {
                    return Result<bool>.Ok(true);
                }

                var its = InRandomOrder((await KitRows.AsideAsync(table, studyId, loss.SiteId, attemptCt)).Where(k => k.LossId == loss.LossId).ToList(), k => k.Entry.KitNumber, random);
                var actions = new StudyChange();
                foreach (var kit in its.Take(ReturnPerTransaction))
                {
                    actions.AddRange(KitRows.ReturnToShelf(studyId, kit));
                }

                var last = its.Count <= ReturnPerTransaction;
                actions.Add(last ? LossRows.Delete(studyId, current) : LossRows.Replace(studyId, current));
                await AuditTrail.SubmitAsync(table, studyId, actions, time.GetUtcNow(), new AuditEntry(
                    userId, role, channel, "site.kits-returned", $"site:{loss.SiteId}",
                    [new AuditChange("returned", null, Math.Min(its.Count, ReturnPerTransaction).ToString(System.Globalization.CultureInfo.InvariantCulture))]), attemptCt);
                return Result<bool>.Ok(last);
            }, ct);
            if (!done.IsSuccess || done.Value)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Kits in a secret random order, for work done one transaction's worth at a time (returning set-aside kits,
    /// quarantining a shelf). Rows are read in key order, which runs type by type: taken in that order, a first batch
    /// that was the only one to land (the request stopped, another instance came in between) would leave the kits of
    /// one type behind, and which kits could be dispensed would tell their types (attacker review 11). From kit-number
    /// order, shuffled, the batch is a uniformly random subset whichever kits are of which type.
    /// </summary>
    private static IReadOnlyList<T> InRandomOrder<T>(IReadOnlyList<T> kits, Func<T, string> number, IRandomSource random) =>
        KitChoice.Pick([.. kits.OrderBy(number, StringComparer.Ordinal)], kits.Count, random);
}
