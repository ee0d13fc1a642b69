using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Subjects;
using Iwrs.Domain.Supply;
using Iwrs.Storage.Stores;

namespace Iwrs.Functions.Features;

/// <summary>
/// Subject packs, a late visit: the timer owes a pack for it once (<see cref="ResupplyCheck"/>, when the kits the
/// subject had passed the do-not-dispense limit); a subject who comes after that one too has passed it finds nothing
/// on the site, and the dispensing tried for them orders the pack (<see cref="OrderAsync"/>). Public facts only: the
/// subject's visits and the dates on their own pack.
/// </summary>
public static class LatePacks
{
    /// <summary>The ledger owing <paramref name="order"/> besides what it owed, for a late visit after <paramref name="visitsDone"/> visits.</summary>
    public static PackRows.Ledger Owe(PackRows.Ledger ledger, PackOrder order, int visitsDone)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(order);
        return ledger with
        {
            Ordered = ledger.Ordered + order.Kits,
            ShipBy = ledger.Ordered > 0 && ledger.ShipBy < order.ShipBy ? ledger.ShipBy : order.ShipBy,
            Earliest = ledger.Ordered > 0 && ledger.Earliest > order.Earliest ? ledger.Earliest : order.Earliest,
            LateOrderAfter = visitsDone,
        };
    }

    /// <summary>
    /// After a dispensing refused for want of the subject's pack: orders the next visits' pack when nothing is on the
    /// way or ordered for them (<see cref="SubjectPacks.OrderForLateVisit"/>), audited as <c>pack.ordered</c>. True: ordered now.
    /// </summary>
    public static async Task<bool> OrderAsync(StudyContext context, string subjectId, string visit, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(time);
        var config = context.Study.Configuration;
        var ordered = await context.Writes.RunAsync(config.StudyId, async attemptCt =>
        {
            // The head first: the subject, ledger and pack read after it cannot change unseen before the write.
            var head = await AuditTrail.ReadHeadAsync(context.Table, config.StudyId, attemptCt);
            var stored = await SubjectRows.GetAsync(context.Table, config.StudyId, subjectId, attemptCt);
            if (stored is not { Subject.Status: SubjectStatus.Randomized } || config.FindSite(stored.Subject.SiteId) is not { } site)
            {
                return Result<bool>.Ok(false);
            }

            var ledger = await PackRows.GetAsync(context.Table, config.StudyId, site.SiteId, subjectId, attemptCt);
            if (ledger is null || ledger.Ordered > 0 || ledger.InTransit > 0)
            {
                return Result<bool>.Ok(false);
            }

            var now = time.GetUtcNow();
            var today = DateOnly.FromDateTime(now.UtcDateTime);
            var usableFrom = Dispensability.EarliestAllowedExpiry(today, config.VisitSchedule, site.Supply);
            var have = (await KitRows.PackAsync(context.Table, config.StudyId, site.SiteId, subjectId, attemptCt)).Count(e => e.Expiry >= usableFrom);
            var visitsDone = SubjectRules.VisitsDone(config.VisitSchedule, stored.Subject);
            if (SubjectPacks.OrderForLateVisit(visitsDone, have, today, config.VisitSchedule, site.Supply, config.SubjectPacks!) is not { } order)
            {
                return Result<bool>.Ok(false);
            }

            await AuditTrail.SubmitAsync(context.Table, config.StudyId, new StudyChange { PackRows.Write(config.StudyId, Owe(ledger, order, visitsDone)) }, now, new AuditEntry(
                context.Caller.UserId, context.ActingAs.Name(), context.Channel, "pack.ordered", $"subject:{subjectId}",
                [new AuditChange("visit", null, visit), new AuditChange("kits", null, FormattableString.Invariant($"{order.Kits}"))]), attemptCt, head: head);
            return Result<bool>.Ok(true);
        }, ct);
        return ordered.IsSuccess && ordered.Value;
    }
}
