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
            var shelf = quarantines ? await KitRows.ShelfAsync(context.Table, study.StudyId, site.SiteId, attemptCt) : [];
            var now = time.GetUtcNow();
            var actions = new StudyChange { SupplyHoldRows.Insert(study.StudyId, site.SiteId, now) };
            foreach (var kit in shelf.Take(SupplyHold.QuarantinePerTransaction))
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
                var shelf = await KitRows.ShelfAsync(context.Table, studyId, siteId, attemptCt);
                if (shelf.Count == 0 || await SupplyHoldRows.GetAsync(context.Table, studyId, siteId, attemptCt) is not { } hold)
                {
                    return Result<bool>.Ok(true);
                }

                var actions = new StudyChange { SupplyHoldRows.Write(studyId, hold) };
                foreach (var kit in shelf.Take(SupplyHold.QuarantinePerTransaction))
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
    /// Orders the replacement for kits lost on the way or from the shelf: those kits' types plus one kit of every type,
    /// so that its size (lost + number of types) is a public count and every type is in it. Failing to order leaves
    /// the hold on; the timer orders again while nothing is on the way.
    /// </summary>
    public async Task ReplaceAsync(TableClient table, StudyConfiguration study, string siteId, IReadOnlyDictionary<string, int> lost, CancellationToken ct)
    {
        if (lost.Count == 0)
        {
            return;
        }

        try
        {
            await shipping.CreateAsync(table, study, siteId, Replacement(study, lost), Replacing, "system", "system", Channel.Timer, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError("Replacement order for {Study}/{Site} failed: {Error} {Stack}", study.StudyId, siteId, e.GetType().Name, e.StackTrace);
        }
    }

    public static Dictionary<string, int> Replacement(StudyConfiguration study, IReadOnlyDictionary<string, int> lost) =>
        study.KitTypes.ToDictionary(t => t.Code, t => lost.GetValueOrDefault(t.Code) + (study.IsBlinded ? 1 : 0), StringComparer.Ordinal)
            .Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    /// <summary>
    /// Adds to <paramref name="actions"/> that kits of the given types left the site's shelf (or never reached it): the
    /// site goes on hold until replacements for them are released, so a report can never leave an arbitrary subset of
    /// kits dispensable. One more replacement shipment is owed.
    /// </summary>
    public static async Task LoseAsync(TableClient table, string studyId, string siteId, IReadOnlyDictionary<string, int> lost, DateTimeOffset now, StudyChange actions, CancellationToken ct)
    {
        var hold = await SupplyHoldRows.GetAsync(table, studyId, siteId, ct) ?? new SupplyHoldRows.Hold(siteId, now, new Dictionary<string, int>(), null);
        actions.Add(SupplyHoldRows.Write(studyId, hold with { ToReplace = Owed(hold.ToReplace, lost), Replacements = hold.Replacements + 1 }));
    }

    /// <summary>The kits a released shipment lost (reported damaged or missing), per type.</summary>
    public static IReadOnlyDictionary<string, int> Lost(Shipment shipment) =>
        shipment.Kits.Where(k => k.Condition != KitCondition.Ok).GroupBy(k => k.KitType).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>Kits still owed to a site, per type: <paramref name="owed"/> plus <paramref name="change"/>, none below zero.</summary>
    private static Dictionary<string, int> Owed(IReadOnlyDictionary<string, int> owed, IEnumerable<KeyValuePair<string, int>> change)
    {
        var result = new Dictionary<string, int>(owed, StringComparer.Ordinal);
        foreach (var (type, n) in change)
        {
            result[type] = result.GetValueOrDefault(type) + n;
        }

        return result.Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    /// <summary>
    /// Adds to <paramref name="actions"/> what releasing <paramref name="shipment"/> to its site's shelf writes: each
    /// kit as reported (ok kits on the shelf index), and the site's hold as it now stands. A stock-out hold lifts; a hold
    /// for lost kits lifts once every replacement shipment owed is released — a count of losses and of releases, both
    /// public. (It used to lift once the lost kits were paid off per type; with two replacements on the way, the first
    /// one released could then lift the hold or not depending on which types had been lost: attacker review.)
    /// Kits this shipment lost put the site on hold until they are replaced. Returns whether a hold was lifted and the
    /// kits lost, per type, for which a replacement is to be ordered.
    /// </summary>
    public static async Task<(bool Lifted, IReadOnlyDictionary<string, int> Lost)> ReleaseAsync(TableClient table, string studyId, Shipment shipment, DateTimeOffset now, StudyChange actions, CancellationToken ct)
    {
        var kits = await Task.WhenAll(shipment.Kits.Select(k => KitRows.GetAsync(table, studyId, k.KitNumber, ct)));
        foreach (var (line, current) in shipment.Kits.Zip(kits))
        {
            var status = line.Condition switch
            {
                KitCondition.Ok => KitStatus.Available,
                KitCondition.Damaged => KitStatus.Damaged,
                _ => KitStatus.Missing,
            };
            actions.AddRange(KitRows.Receive(studyId, current!, current!.Kit with { Status = status, Location = shipment.SiteId }, shipment.SiteId));
        }

        var lost = Lost(shipment);
        var hold = await SupplyHoldRows.GetAsync(table, studyId, shipment.SiteId, ct);

        // A replacement pays off its kits (kits it lost itself are owed again, below).
        var isReplacement = shipment.Reason == Replacing;
        var paid = isReplacement ? shipment.Kits.Select(k => KeyValuePair.Create(k.KitType, -1)) : [];
        var owed = Owed(hold?.ToReplace ?? new Dictionary<string, int>(), paid.Concat(lost));
        var replacements = Math.Max(0, (hold?.Replacements ?? 0) - (isReplacement ? 1 : 0)) + (lost.Count > 0 ? 1 : 0);
        if (replacements > 0)
        {
            actions.Add(SupplyHoldRows.Write(studyId, (hold ?? new SupplyHoldRows.Hold(shipment.SiteId, now, owed, null)) with { ToReplace = owed, Replacements = replacements }));
            return (false, lost);
        }

        if (hold is null)
        {
            return (false, lost);
        }

        actions.Add(SupplyHoldRows.Delete(studyId, hold));
        return (true, lost);
    }
}
