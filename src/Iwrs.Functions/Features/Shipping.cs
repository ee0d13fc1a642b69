using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Studies;
using Iwrs.Domain.Supply;
using Azure.Data.Tables;
using Iwrs.Functions.Notifications;
using Iwrs.Storage.Stores;

namespace Iwrs.Functions.Features;

/// <summary>
/// Creates a shipment from the depot to a site: picks kits first-expiry-first-out (only kits that will still be
/// dispensable when they arrive), moves them in transit, records the shipment and its open-shipment index row,
/// audits it and queues the SMS notices — all one transaction. The depot manager's notice is a pick list with
/// kit types; the site pharmacist's names kit numbers only.
/// </summary>
public sealed class Shipping(TimeProvider time, NoticeRecipients recipients, StudyWrites writes)
{
    /// <summary>The most kits in one shipment on subject packs (<see cref="SubjectPacks.MaxShipmentKits"/>).</summary>
    public const int PackShipmentMaxKits = SubjectPacks.MaxShipmentKits;

    public async Task<Result<Shipment>> CreateAsync(StudyContext context, string siteId, IReadOnlyDictionary<string, int> kits, string reason, Channel channel, CancellationToken ct) =>
        await CreateAsync(context.Table, context.Study.Configuration, siteId, kits, reason, context.Caller.UserId, context.ActingAs.Name(), channel, ct);

    public async Task<Result<Shipment>> CreateAsync(
        TableClient table, StudyConfiguration study, string siteId, IReadOnlyDictionary<string, int> kits, string reason,
        string userId, string role, Channel channel, CancellationToken ct, Func<Task<IReadOnlyDictionary<string, int>>>? recompute = null,
        LossRows.Loss? replacing = null, bool automatic = false, Func<Task<PackShipment?>>? packing = null)
    {
        var site = study.FindSite(siteId)!;
        var notify = await RecipientsAsync(study.StudyId, siteId, ct);
        return await writes.RunAsync(study.StudyId, async attemptCt =>
        {
            // The resupply check decides again on every attempt, after reading the head that guards this write: if
            // another run (or a manual shipment) shipped meanwhile, less or nothing is needed.
            var head = await AuditTrail.ReadHeadAsync(table, study.StudyId, attemptCt);
            var wanted = recompute is null ? kits : await recompute();
            var packed = packing is null ? null : await packing();
            if (packing is not null)
            {
                wanted = packed?.Wanted(study) ?? new Dictionary<string, int>();
            }

            // A loss's replacement is linked to it under the loss row's ETag: a loss is replaced once, however many orders race.
            var loss = replacing is null ? null : await LossRows.GetAsync(table, study.StudyId, replacing.SiteId, replacing.LossId, attemptCt);
            if (wanted.Count == 0 || (replacing is not null && (loss is null || loss.ReplacementId is not null)))
            {
                return Result<Shipment>.Fail(new DomainError("no-longer-needed", "Another check already ordered these kits."));
            }

            var now = time.GetUtcNow();
            var today = DateOnly.FromDateTime(now.UtcDateTime);
            var earliest = Dispensability.EarliestCountedExpiry(today, study.VisitSchedule, site.Supply);
            if (packed is not null)
            {
                // A starter must last its shelf days, a pack until its last visit at the latest.
                earliest = new[] { earliest, packed.Starters > 0 ? SubjectPacks.StarterEarliestExpiry(today, study.VisitSchedule, site.Supply) : earliest }
                    .Concat(packed.Packs.Select(p => p.Earliest)).Max();
            }

            // An automatic order or a loss's replacement in a blinded study ships its number of kits whatever the
            // depot's mix: a short type is made up from the others (a replacement that shipped or not by the lost kits'
            // types would tell them: attacker review).
            var fill = (automatic || recompute is not null || replacing is not null) && study.IsBlinded;
            // On subject packs the batch must hold the shipment's number of every type, so every type is read.
            var types = (packed is not null ? study.KitTypes.Select(k => k.Code) : wanted.Where(k => k.Value > 0).Select(k => k.Key)).Order(StringComparer.Ordinal).ToList();
            var total = wanted.Values.Where(n => n > 0).Sum();
            var oneBatch = DepotPick.OneBatch(study.IsBlinded, study.KitTypes.Count);
            // A blinded shipment's kits all come from one batch (DepotPick), so every shippable kit of each type is
            // read; otherwise each type's first kits.
            var candidates = await Task.WhenAll(types.Select(type =>
                KitRows.FirstAsync(table, study.StudyId, $"{KitRows.DepotPrefix}{type}|", earliest, oneBatch ? int.MaxValue : fill ? total : wanted[type], attemptCt)));
            List<(KitRows.IndexEntry Entry, string Type)> picked;
            if (oneBatch)
            {
                candidates = await Task.WhenAll(candidates.Select(c => KitRows.WithLotsAsync(table, study.StudyId, c, attemptCt)));
                static DepotBatch BatchOf(KitRows.IndexEntry e) => new(e.Expiry, e.Lot ?? string.Empty);
                var byBatch = types.SelectMany((type, i) => candidates[i].Select(e => (Type: type, Batch: BatchOf(e))))
                    .GroupBy(k => k.Batch)
                    .ToDictionary(g => g.Key, g => (IReadOnlyDictionary<string, int>)g.GroupBy(k => k.Type).ToDictionary(k => k.Key, k => k.Count(), StringComparer.Ordinal));
                // Starters (subject packs): the earliest batch holding the shipment's whole number of every type, so its
                // date depends on the shipment's size only (SubjectPacks.ShipmentBatch).
                var pick = packed is not null
                    ? SubjectPacks.ShipmentBatch(total, [.. study.KitTypes.Select(k => k.Code)], byBatch) is { } batch ? (batch, wanted.ToDictionary(StringComparer.Ordinal)) : ((DepotBatch, Dictionary<string, int>)?)null
                    : DepotPick.From(wanted, byBatch, fill);
                if (pick is null)
                {
                    return Result<Shipment>.Fail(new DomainError("not-enough-stock", fill
                        ? "The depot cannot fill this site's shipment: no lot there has kits of every type enough for it."
                        : $"No lot at the depot has enough usable kits of every requested type: a blinded shipment's kits all come from one lot and expiry date, so what is printed on them cannot tell its types apart ({string.Join("; ", DepotBatch.InOrder(byBatch.Keys).Select(b => $"{b.Lot} {b.Expiry:yyyy-MM-dd}: {string.Join(", ", types.Select(t => $"{byBatch[b].GetValueOrDefault(t)} of {wanted[t]}"))}"))})."));
                }

                picked = [.. types.SelectMany((type, i) => candidates[i].Where(e => BatchOf(e) == pick.Value.Item1).Take(pick.Value.Item2.GetValueOrDefault(type)).Select(e => (Entry: e, Type: type)))];
            }
            else
            {
                var atDepot = types.Select((type, i) => (type, candidates[i].Count)).ToDictionary(t => t.type, t => t.Count, StringComparer.Ordinal);
                var composition = fill ? Resupply.FillFromDepot(wanted, atDepot) : wanted.Where(k => k.Value > 0).ToDictionary(k => k.Key, k => k.Value, StringComparer.Ordinal);
                if (composition is null || types.Any(t => atDepot[t] < composition[t]))
                {
                    return Result<Shipment>.Fail(new DomainError("not-enough-stock", fill
                        ? "The depot cannot fill this site's shipment: a kit type is out of stock there."
                        : $"The depot has too few usable kits of a requested type ({string.Join(", ", types.Select(t => $"{atDepot[t]} of {wanted[t]}"))})."));
                }

                picked = [.. types.SelectMany((type, i) => candidates[i].Take(composition[type]).Select(e => (Entry: e, Type: type)))];
            }

            var counter = await ShipmentRows.GetCounterAsync(table, study.StudyId, attemptCt);
            var shipmentId = ShipmentRows.FormatId(counter.Next);
            var (labels, packFor) = packed is not null ? Labels(study, shipmentId, packed, picked) : ([], []);
            var shipment = new Shipment(
                shipmentId, siteId, ShipmentStatus.Requested,
                // Stored in kit-number order: picked type by type, the stored order would sort the kits by type
                // wherever it shows (an SMS receipt is built from it).
                picked.OrderBy(p => p.Entry.KitNumber, StringComparer.Ordinal).Select(p => new ShipmentKit(p.Entry.KitNumber, p.Type, KitCondition.Pending, labels.GetValueOrDefault(p.Entry.KitNumber), packFor.GetValueOrDefault(p.Entry.KitNumber))).ToList(),
                reason, now, userId, null, null);

            var actions = new StudyChange();
            actions.AddRange(ShipmentRows.Insert(study.StudyId, shipment));
            actions.Add(counter.Advance(study.StudyId));
            if (loss is not null)
            {
                actions.Add(LossRows.Link(study.StudyId, loss, shipment.ShipmentId));
            }
            foreach (var (entry, _) in picked)
            {
                actions.AddRange(KitRows.Ship(study.StudyId, entry, shipment.ShipmentId, labels.GetValueOrDefault(entry.KitNumber), packFor.GetValueOrDefault(entry.KitNumber)));
            }

            // The packs' ledgers, under their ETags: what was owed is on its way (a ledger changed meanwhile fails the whole shipment).
            foreach (var ledger in packed?.Packs ?? [])
            {
                actions.Add(PackRows.Write(study.StudyId, ledger with { Ordered = 0, InTransit = ledger.InTransit + ledger.Ordered }));
            }

            var byType = picked.GroupBy(p => p.Type).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
            var numbers = picked.Select(p => p.Entry.KitNumber).Order(StringComparer.Ordinal).ToList();
            await AuditTrail.SubmitAsync(table, study.StudyId, actions, now, new AuditEntry(
                userId, role, channel, "shipment.created", $"shipment:{shipment.ShipmentId}",
                [
                    new AuditChange("siteId", null, siteId),
                    new AuditChange("reason", null, reason),
                    new AuditChange("kitNumbers", null, string.Join(",", numbers)),
                    .. packed is null ? [] : new[]
                    {
                        new AuditChange("starters", null, packed.Starters.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                        new AuditChange("packs", null, string.Join(",", packed.Packs.Select(p => $"{p.SubjectId}:{p.Ordered}"))),
                    },
                    new AuditChange("kitsByType", null, string.Join(",", byType.Select(g => $"{g.Key}:{g.Count()}")), Unblinded: true),
                ]), attemptCt, (sequence, list) =>
            {
                var depotText = $"Iwrs {study.StudyId}: pick shipment {shipment.ShipmentId} for site {siteId} ({reason}): " +
                    string.Join("; ", byType.Select(g => $"{g.Key} x{g.Count()} [{string.Join(",", g.Select(p => p.Entry.KitNumber).Order(StringComparer.Ordinal))}]"));
                var siteText = $"Iwrs {study.StudyId}: shipment {shipment.ShipmentId} with {numbers.Count} kits is on its way to site {siteId}: {string.Join(",", numbers)}.";
                SmsNotices.Queue(list, study.StudyId, sequence, notify.Where(r => r.Role == Role.DepotManager), depotText, "shipment.created", now);
                SmsNotices.Queue(list, study.StudyId, sequence, notify.Where(r => r.Role == Role.Pharmacist), siteText, "shipment.created", now, offset: 100);
            }, head);
            return Result<Shipment>.Ok(shipment);
        }, ct);
    }

    /// <summary>
    /// Kits in a shipment on subject packs, to their starters and packs, in the order the depot index gave each type's
    /// kits (by expiry, then a random sort key), so which kit numbers share a starter says nothing of their types:
    /// starter n of the shipment (<c>{shipment}-n</c>) takes the next <see cref="SubjectPacks.StarterKits"/> kits of each
    /// type, then each pack, in order, its kits of its subject's type.
    /// </summary>
    private static (Dictionary<string, StarterLabel> Starters, Dictionary<string, string> Packs) Labels(
        StudyConfiguration study, string shipmentId, PackShipment packed, IReadOnlyList<(KitRows.IndexEntry Entry, string Type)> picked)
    {
        var packs = study.SubjectPacks!;
        var perType = SubjectPacks.StarterKits(study, packs.StarterSize);
        var starters = new Dictionary<string, StarterLabel>(StringComparer.Ordinal);
        var packFor = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var t = 0; t < study.KitTypes.Count; t++)
        {
            var ofType = new Queue<string>(picked.Where(p => p.Type == study.KitTypes[t].Code).Select(p => p.Entry.KitNumber));
            for (var i = 0; i < packed.Starters * perType[t]; i++)
            {
                starters[ofType.Dequeue()] = new StarterLabel(FormattableString.Invariant($"{shipmentId}-{(i / perType[t]) + 1}"), packs.StarterSize, perType.Min());
            }

            foreach (var pack in packed.Packs.Where(p => p.KitType == study.KitTypes[t].Code))
            {
                for (var i = 0; i < pack.Ordered; i++)
                {
                    packFor[ofType.Dequeue()] = pack.SubjectId;
                }
            }
        }

        return (starters, packFor);
    }

    /// <summary>What a site's shipment of the day carries on subject packs: starters, and the packs owed to its subjects (their ledgers as read).</summary>
    public sealed record PackShipment(int Starters, IReadOnlyList<PackRows.Ledger> Packs)
    {
        /// <summary>Kits of each type: the starters' in the ratio, each pack's of its subject's type.</summary>
        public Dictionary<string, int> Wanted(StudyConfiguration study)
        {
            var perType = SubjectPacks.StarterKits(study, study.SubjectPacks!.StarterSize);
            return study.KitTypes.Select((k, t) => (k.Code, Kits: (Starters * perType[t]) + Packs.Where(p => p.KitType == k.Code).Sum(p => p.Ordered)))
                .Where(k => k.Kits > 0)
                .ToDictionary(k => k.Code, k => k.Kits, StringComparer.Ordinal);
        }
    }

    /// <summary>A loss's replacement (<see cref="SupplyHolds.Replacement"/>), linked to the loss in its transaction.</summary>
    public Task<Result<Shipment>> ReplaceAsync(TableClient table, StudyConfiguration study, LossRows.Loss loss, CancellationToken ct) =>
        CreateAsync(table, study, loss.SiteId, SupplyHolds.Replacement(study, loss.Lost), SupplyHolds.Replacing, "system", "system", Channel.Timer, ct, replacing: loss);

    /// <summary>The study's depot managers.</summary>
    public Task<IReadOnlyList<NoticeRecipient>> DepotManagersAsync(string studyId, CancellationToken ct) =>
        recipients.InStudyAsync(studyId, a => a.Role == Role.DepotManager, NoticeRecipients.MaxPerEvent, ct);

    /// <summary>The study's depot managers and the site's pharmacists.</summary>
    private Task<IReadOnlyList<NoticeRecipient>> RecipientsAsync(string studyId, string siteId, CancellationToken ct) =>
        recipients.InStudyAsync(studyId, a => a.Role == Role.DepotManager || (a.Role == Role.Pharmacist && a.SiteId == siteId), NoticeRecipients.MaxPerEvent, ct);
}
