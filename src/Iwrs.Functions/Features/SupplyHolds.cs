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
public sealed class SupplyHolds(Shipping shipping, ResupplyCheck resupply, TimeProvider time)
{
    /// <summary>Starts a hold at <paramref name="site"/> (if it is not on one already) and orders the urgent shipment.</summary>
    public async Task EnterAsync(StudyContext context, Site site, string because, CancellationToken ct)
    {
        var study = context.Study.Configuration;
        var depot = await shipping.DepotManagersAsync(study.StudyId, ct);
        var started = await context.Writes.RunAsync(study.StudyId, async attemptCt =>
        {
            if (await SupplyHoldRows.GetAsync(context.Table, study.StudyId, site.SiteId, attemptCt) is not null)
            {
                return Result<bool>.Ok(false);
            }

            var now = time.GetUtcNow();
            var actions = new StudyChange { SupplyHoldRows.Insert(study.StudyId, site.SiteId, now) };
            await AuditTrail.SubmitAsync(context.Table, study.StudyId, actions, now, new AuditEntry(
                context.Caller.UserId, context.ActingAs.Name(), Channel.Http, "site.supply-hold", $"site:{site.SiteId}",
                [new AuditChange("supplyHold", null, "on"), new AuditChange("during", null, because)]), attemptCt, (sequence, list) =>
            {
                var text = $"Iwrs {study.StudyId}: site {site.SiteId} is on supply hold (a kit type is short for one visit); nothing is randomized or dispensed there until a shipment is released. An urgent shipment is being ordered.";
                SmsNotices.Queue(list, study.StudyId, sequence, depot, text, "site.supply-hold", now);
            });
            return Result<bool>.Ok(true);
        }, ct);

        if (started.IsSuccess && started.Value)
        {
            var subjects = await SubjectRows.AllAsync(context.Table, study.StudyId, ct);
            await resupply.OrderAsync(context.Table, study, site, onHold: true, subjects, ct);
        }
    }

    /// <summary>
    /// Adds to <paramref name="actions"/> what releasing <paramref name="shipment"/> to its site's shelf writes: each
    /// kit as reported (ok kits on the shelf index), and the site's hold deleted. Returns whether a hold was lifted.
    /// </summary>
    public static async Task<bool> ReleaseAsync(TableClient table, string studyId, Shipment shipment, StudyChange actions, CancellationToken ct)
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

        if (await SupplyHoldRows.GetAsync(table, studyId, shipment.SiteId, ct) is not { } hold)
        {
            return false;
        }

        actions.Add(SupplyHoldRows.Delete(studyId, hold));
        return true;
    }
}
