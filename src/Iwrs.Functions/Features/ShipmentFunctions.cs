using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Supply;
using Iwrs.Functions.Errors;
using Iwrs.Functions.Hosting;
using Iwrs.Functions.Notifications;
using Iwrs.Storage.Stores;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Features;

/// <summary>Shipments from the depot to sites: created, dispatched, and received kit by kit.</summary>
public sealed class ShipmentFunctions(RequestBody body, Shipping shipping, SupplyHolds holds, IwrsTable table, TimeProvider time)
{
    public sealed record ShipmentRequest(string? SiteId, IReadOnlyDictionary<string, int>? Kits);

    public sealed record ReceiptLine(string? KitNumber, string? Condition);

    public sealed record ReceiptRequest(IReadOnlyList<ReceiptLine?>? Kits);

    /// <summary>A shipment's kit; on subject packs, printed on it and public: <paramref name="Starter"/> (the starter it belongs to) or <paramref name="PackFor"/> (the subject whose pack it is in).</summary>
    public sealed record ShipmentKitView(string KitNumber, string? KitType, string Condition, string? Starter = null, string? PackFor = null);

    public sealed record ShipmentView(string ShipmentId, string SiteId, string Status, string Reason, int KitCount, IReadOnlyList<ShipmentKitView> Kits, IReadOnlyDictionary<string, int>? ByKitType, DateTimeOffset CreatedAt, DateTimeOffset? DispatchedAt, DateTimeOffset? ReceivedAt, DateTimeOffset? ReleasedAt);

    [Function("ListShipments")]
    [Description("Shipments; a pharmacist sees its site's, with kit numbers only.")]
    public async Task<IResult> ListShipments([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/shipments")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var siteId = RequestQuery.String(req, "siteId");
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ViewShipments, siteId, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        // Site roles see their own sites' shipments only, whatever they ask for.
        var sites = context!.ActingAs.IsSiteScoped()
            ? context.Access.Assignments.Where(a => a.Role == context.ActingAs).Select(a => a.SiteId).ToHashSet()
            : null;
        var views = new List<ShipmentView>();
        foreach (var stored in await ShipmentRows.AllAsync(context.Table, studyId, ct))
        {
            var shipment = stored.Shipment;
            if ((sites is null || sites.Contains(shipment.SiteId)) && (siteId is null || shipment.SiteId == siteId))
            {
                views.Add(View(shipment, context.Unblinded));
            }
        }

        return TypedResults.Ok(views);
    }

    [Function("CreateShipment")]
    [Description("Depot manager: ship kits of each type to a site (first expiry, first out).")]
    public async Task<IResult> CreateShipment([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/shipments")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var read = await body.ReadAsync<ShipmentRequest>(req, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ManageShipments, null, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var config = context!.Study.Configuration;
        if (config.SubjectPacks is not null)
        {
            // Kits sent by hand would reach the shelf in no starter and no pack, where nothing can dispense them.
            return Problems.From(new DomainError("shipment-automatic-only", "On subject packs every shipment is the resupply timer's: starters in the ratio and each subject's own pack. Nothing was shipped."));
        }
        var errors = new List<FieldError>();
        if (read.Value.SiteId is null || config.FindSite(read.Value.SiteId) is null)
        {
            errors.Add(new FieldError("siteId", "must be a site of the study."));
        }

        var kits = read.Value.Kits ?? new Dictionary<string, int>();
        foreach (var (type, count) in kits)
        {
            if (config.KitTypes.All(k => k.Code != type))
            {
                errors.Add(new FieldError($"kits.{type}", "is not a kit type of the study."));
            }
            else if (count is < 0 or > Shipment.MaxKits)
            {
                errors.Add(new FieldError($"kits.{type}", $"must be between 0 and {Shipment.MaxKits}."));
            }
        }

        if (kits.Values.Sum(v => (long)v) is < 1 or > Shipment.MaxKits)
        {
            errors.Add(new FieldError("kits", $"a shipment holds 1 to {Shipment.MaxKits} kits."));
        }

        // A shipment of one type would tell the site that everyone dispensed from it is in one arm.
        if (config.IsBlinded && config.KitTypes.Any(t => kits.GetValueOrDefault(t.Code) < 1))
        {
            errors.Add(new FieldError("kits", "in a blinded study every shipment carries at least one kit of every kit type."));
        }

        if (errors.Count > 0)
        {
            return Problems.From(DomainError.Validation(errors));
        }

        var created = await shipping.CreateAsync(context, read.Value.SiteId!, kits, "manual", Channel.Http, ct);
        return created.IsSuccess
            ? TypedResults.Created($"/api/studies/{studyId}/shipments/{created.Value.ShipmentId}", View(created.Value, unblinded: true))
            : Problems.From(created.Error!);
    }

    [Function("DispatchShipment")]
    [Description("Depot manager: the shipment has left the depot.")]
    public async Task<IResult> DispatchShipment([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/shipments/{shipmentId}/dispatch")] HttpRequest req, string studyId, string shipmentId, CancellationToken ct)
    {
        if (!Identifiers.IsValid(shipmentId))
        {
            return Problems.From(new DomainError("shipment-not-found", "There is no such shipment."));
        }

        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ManageShipments, null, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        return await context!.WriteAsync(async attemptCt =>
        {
            var stored = await ShipmentRows.GetAsync(context!.Table, studyId, shipmentId, attemptCt);
            if (stored is null)
            {
                return Result<Shipment>.Fail(new DomainError("shipment-not-found", $"There is no shipment '{shipmentId}'."));
            }

            if (stored.Shipment.Status != ShipmentStatus.Requested)
            {
                return stored.Shipment; // already dispatched: a retried dispatch changes nothing
            }

            var now = time.GetUtcNow();
            var shipment = stored.Shipment with { Status = ShipmentStatus.Dispatched, DispatchedAt = now };
            var actions = new StudyChange { ShipmentRows.Replace(studyId, shipment, stored.ETag) };
            await AuditTrail.SubmitAsync(context.Table, studyId, actions, now, new AuditEntry(
                context.Caller.UserId, context.ActingAs.Name(), Channel.Http, "shipment.dispatched", $"shipment:{shipmentId}",
                [new AuditChange("status", "requested", "dispatched")]), attemptCt);
            return shipment;
        }, s => TypedResults.Ok(View(s, unblinded: true)), ct);
    }

    [Function("ReceiveShipment")]
    [Description("Pharmacist: report kits as ok, damaged or missing. Kits reach the shelf by whole shipments: once every kit is reported, at once if all are ok, otherwise when the depot manager releases it.")]
    public async Task<IResult> ReceiveShipment([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/shipments/{shipmentId}/receive")] HttpRequest req, string studyId, string shipmentId, CancellationToken ct)
    {
        var read = await body.ReadAsync<ReceiptRequest>(req, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        var lines = read.Value.Kits ?? [];
        var errors = new List<FieldError>();
        var receipt = new List<(string, KitCondition)>();
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i] is null)
            {
                errors.Add(new FieldError($"kits[{i}]", "is null."));
            }
            else if (!KitImport.IsKitNumber(lines[i]!.KitNumber))
            {
                errors.Add(new FieldError($"kits[{i}].kitNumber", "is required."));
            }
            else if (!Shipment.TryParseCondition(lines[i]!.Condition, out var condition))
            {
                errors.Add(new FieldError($"kits[{i}].condition", "must be ok, damaged or missing."));
            }
            else
            {
                receipt.Add((lines[i]!.KitNumber!, condition));
            }
        }

        if (lines.Count == 0)
        {
            errors.Add(new FieldError("kits", "list at least one kit."));
        }

        if (errors.Count > 0)
        {
            return Problems.From(DomainError.Validation(errors));
        }

        // The site is the shipment's: read it first (without trusting the caller), then authorize there.
        var client = await table.GetAsync(ct);
        var first = Identifiers.IsValid(studyId) && Identifiers.IsValid(shipmentId) ? await ShipmentRows.GetAsync(client, studyId, shipmentId, ct) : null;
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ReceiveShipment, first?.Shipment.SiteId, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        if (first is null)
        {
            return Problems.From(new DomainError("shipment-not-found", $"There is no shipment '{shipmentId}'."));
        }

        var received = await ReceiveAsync(context!, shipmentId, receipt, shipping, holds, time, ct);
        return received.IsSuccess ? TypedResults.Ok(View(received.Value, context!.Unblinded)) : Problems.From(received.Error!);
    }

    /// <summary>
    /// A receipt, for every door (HTTP, SMS): <paramref name="context"/> was authorized at the shipment's site, and its
    /// channel is the audit record's. Kits already received as reported change nothing, so a repeat is harmless.
    /// </summary>
    public static async Task<Result<Shipment>> ReceiveAsync(
        StudyContext context, string shipmentId, IReadOnlyList<(string KitNumber, KitCondition Condition)> receipt, Shipping shipping, SupplyHolds holds, TimeProvider time, CancellationToken ct)
    {
        var studyId = context.StudyId;
        IReadOnlyList<LossRows.Loss> returning = [];
        LossRows.Loss? loss = null;
        var received = await context.Writes.RunAsync(studyId, async attemptCt =>
        {
            loss = null;
            var stored = await ShipmentRows.GetAsync(context.Table, studyId, shipmentId, attemptCt);
            var now = time.GetUtcNow();
            var applied = stored!.Shipment.Receive(receipt, now);
            if (!applied.IsSuccess || applied.Value.Changed.Count == 0)
            {
                return applied.IsSuccess ? Result<Shipment>.Ok(applied.Value.Shipment) : Result<Shipment>.Fail(applied.Error!);
            }

            var (shipment, changed) = applied.Value;
            var actions = new StudyChange
            {
                ShipmentRows.Replace(studyId, shipment, stored.ETag),
                ShipmentRows.UpdateOpen(studyId, shipment),
            };
            var release = shipment.Status == ShipmentStatus.Received ? await holds.ReleaseAsync(context.Table, context.Study.Configuration, shipment, now, actions, attemptCt) : null;
            var lifted = release?.Lifted ?? false;
            returning = release?.StillReturning ?? [];

            // Kits reported lost: the replacement is ordered now, with the report, not when the depot releases it.
            loss = shipment.Status == ShipmentStatus.AwaitingRelease && stored.Shipment.Status != ShipmentStatus.AwaitingRelease && SetAside.Replaces(context.Study.Configuration)
                ? SupplyHolds.LoseAtReceipt(studyId, shipment, now, actions)
                : null;
            var depot = shipment.Status == ShipmentStatus.AwaitingRelease ? await shipping.DepotManagersAsync(studyId, attemptCt) : [];
            await AuditTrail.SubmitAsync(context.Table, studyId, actions, now, new AuditEntry(
                context.Caller.UserId, context.ActingAs.Name(), context.Channel, "shipment.received", $"shipment:{shipmentId}",
                [
                    // In kit-number order whatever order the receipt came in: the stored shipment (an SMS receipt's
                    // order) could run type by type, and blinded readers see these changes (attacker review 11).
                    .. changed.OrderBy(k => k.KitNumber, StringComparer.Ordinal).Select(k => new AuditChange($"kit:{k.KitNumber}", "pending", Shipment.Name(k.Condition))),
                    new AuditChange("status", Shipment.Name(stored.Shipment.Status), Shipment.Name(shipment.Status)),
                    .. Lifted(lifted),
                ]), attemptCt, (sequence, list) =>
            {
                var damaged = shipment.Kits.Count(k => k.Condition == KitCondition.Damaged);
                var missing = shipment.Kits.Count(k => k.Condition == KitCondition.Missing);
                var text = SetAside.Replaces(context.Study.Configuration)
                    ? $"Iwrs {studyId}: shipment {shipmentId} at site {shipment.SiteId} was received with {damaged} damaged and {missing} missing kit(s); a replacement is being ordered. Blinded, its kits reach the shelf with the replacement once you release it."
                    : $"Iwrs {studyId}: shipment {shipmentId} at site {shipment.SiteId} was received with {damaged} damaged and {missing} missing kit(s); its ok kits reach the site once you release it.";
                SmsNotices.Queue(list, studyId, sequence, depot, text, "shipment.awaiting-release", now);
            });
            return shipment;
        }, ct);
        if (received.IsSuccess)
        {
            await holds.ReplaceAsync(context.Table, context.Study.Configuration, loss, ct);
            await holds.ReturnRestAsync(context, returning, ct);
        }

        return received;
    }

    [Function("ReleaseShipment")]
    [Description("Depot manager: release a received shipment that had damaged or missing kits; its ok kits reach the shelf.")]
    public async Task<IResult> ReleaseShipment([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/shipments/{shipmentId}/release")] HttpRequest req, string studyId, string shipmentId, CancellationToken ct)
    {
        if (!Identifiers.IsValid(shipmentId))
        {
            return Problems.From(new DomainError("shipment-not-found", "There is no such shipment."));
        }

        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ManageShipments, null, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        Shipment? committed = null;
        SupplyHolds.Released? release = null;
        var answer = await context!.WriteAsync(async attemptCt =>
        {
            var stored = await ShipmentRows.GetAsync(context!.Table, studyId, shipmentId, attemptCt);
            if (stored is null)
            {
                return Result<Shipment>.Fail(new DomainError("shipment-not-found", $"There is no shipment '{shipmentId}'."));
            }

            var now = time.GetUtcNow();
            var released = stored.Shipment.Release(now);
            if (!released.IsSuccess)
            {
                return released;
            }

            var shipment = released.Value;
            var actions = new StudyChange
            {
                ShipmentRows.Replace(studyId, shipment, stored.ETag),
                ShipmentRows.UpdateOpen(studyId, shipment),
            };
            release = await holds.ReleaseAsync(context.Table, context.Study.Configuration, shipment, now, actions, attemptCt);
            await AuditTrail.SubmitAsync(context.Table, studyId, actions, now, new AuditEntry(
                context.Caller.UserId, context.ActingAs.Name(), Channel.Http, "shipment.released", $"shipment:{shipmentId}",
                [
                    new AuditChange("status", Shipment.Name(stored.Shipment.Status), Shipment.Name(shipment.Status)),
                    .. Lifted(release.Lifted),
                    .. release.SetAside ? [new AuditChange("kitsSetAside", null, "until the loss is replaced", Unblinded: true)] : Array.Empty<AuditChange>(),
                ]), attemptCt);
            return shipment;
        }, s =>
        {
            committed = s;
            return TypedResults.Ok(View(s, unblinded: true));
        }, ct);
        if (committed is not null && release is not null)
        {
            await holds.ReplaceAsync(context.Table, context.Study.Configuration, release.NewLoss, ct);
            await holds.ReturnRestAsync(context, release.StillReturning, ct);
        }

        return answer;
    }

    public sealed record KitReportRequest(string? Condition, string? Reason);

    [Function("ReportKit")]
    [Description("Pharmacist: a kit on the site's shelf is damaged or missing; it leaves the shelf, and the depot is told.")]
    public async Task<IResult> ReportKit([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/sites/{siteId}/kits/{kitNumber}/report")] HttpRequest req, string studyId, string siteId, string kitNumber, CancellationToken ct)
    {
        var read = await body.ReadAsync<KitReportRequest>(req, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        var errors = new List<FieldError>();
        if (!Shipment.TryParseCondition(read.Value.Condition, out var condition) || condition == KitCondition.Ok)
        {
            errors.Add(new FieldError("condition", "must be damaged or missing."));
        }

        if (new ReasonRequest(read.Value.Reason).Check() is { } missing)
        {
            errors.AddRange(missing.Errors!);
        }

        if (errors.Count > 0)
        {
            return Problems.From(DomainError.Validation(errors));
        }

        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ReceiveShipment, siteId, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var status = condition == KitCondition.Damaged ? KitStatus.Damaged : KitStatus.Missing;
        var depot = await shipping.DepotManagersAsync(studyId, ct);
        var study = context!.Study.Configuration;
        LossRows.Loss? loss = null;
        var answer = await context.WriteAsync(async attemptCt =>
        {
            var current = KitImport.IsKitNumber(kitNumber) ? await KitRows.GetAsync(context.Table, studyId, kitNumber, attemptCt) : null;
            if (current is null || current.Kit.Location != siteId)
            {
                return Result<Kit>.Fail(new DomainError("kit-not-found", $"Site '{siteId}' has no kit '{kitNumber}'."));
            }

            // A kit set aside after a loss is on the shelf as blinded staff see it, so it is reported like any other.
            if (current.Kit.Status is not (KitStatus.Available or KitStatus.SetAside))
            {
                return Result<Kit>.Fail(new DomainError("kit-not-on-shelf", $"Kit '{kitNumber}' is not on the shelf at site '{siteId}' (it is {Kit.Name(current.Kit.Status)})."));
            }

            // The kit row and its index disagree when a change to it is under way: decide again.
            var (index, setAsideFor) = await KitRows.IndexRowAsync(context.Table, studyId, current, attemptCt)
                ?? throw new ConcurrentChangeException("The kit changed while it was read.");
            var now = time.GetUtcNow();
            var actions = new StudyChange();
            actions.AddRange(KitRows.Report(studyId, current, index, status));

            // A set-aside kit lost: this loss's replacement waits with the other set-aside kits for the rest of
            // theirs, and the hold stands until all of it is on the shelf. (A kit of its type standing in from the shelf
            // would have been possible or not by the shelf's per-type stock, which the outcome then told: attacker review.)
            loss = SetAside.Replaces(study) ? await SupplyHolds.LoseFromShelfAsync(context.Table, study, siteId, current.Kit.KitType, now, actions, attemptCt, setAsideFor) : null;

            // Subject packs: a kit lost from a subject's pack is owed to them again, to leave at once.
            if (current.Kit.PackFor is { } owner && await PackRows.GetAsync(context.Table, studyId, siteId, owner, attemptCt) is { } ledger)
            {
                actions.Add(PackRows.Write(studyId, ledger with { Ordered = ledger.Ordered + 1, ShipBy = DateOnly.FromDateTime(now.UtcDateTime) }));
            }
            await AuditTrail.SubmitAsync(context.Table, studyId, actions, now, new AuditEntry(
                context.Caller.UserId, context.ActingAs.Name(), Channel.Http, "kit.reported", $"kit:{kitNumber}",
                [
                    new AuditChange("siteId", null, siteId),
                    new AuditChange("status", "available", Kit.Name(status)),
                    new AuditChange("reason", null, read.Value.Reason),
                    new AuditChange("kitType", null, current.Kit.KitType, Unblinded: true),
                    .. loss is { Holds: true } ? [new AuditChange("supplyHold", null, "until replaced")] : Array.Empty<AuditChange>(),
                ]), attemptCt, (sequence, list) =>
            {
                var text = loss is not null
                    ? $"Iwrs {studyId}: kit {kitNumber} ({current.Kit.KitType}) at site {siteId} was reported {Kit.Name(status)} after release; a replacement is being ordered."
                    : $"Iwrs {studyId}: kit {kitNumber} ({current.Kit.KitType}{(current.Kit.Starter is { } starter ? $", starter {starter.Id}" : string.Empty)}) at site {siteId} was reported {Kit.Name(status)} after release.";
                SmsNotices.Queue(list, studyId, sequence, depot, text, "kit.reported", now);
            });
            return Result<Kit>.Ok(current.Kit with { Status = status });
        }, kit => TypedResults.Ok(new { kitNumber, siteId, status = Kit.Name(kit.Status) }), ct);

        // The replacement's order reads the loss row again: a loss whose transaction did not commit orders nothing.
        await holds.ReplaceAsync(context.Table, study, loss, ct);

        return answer;
    }

    private static IEnumerable<AuditChange> Lifted(bool lifted) => lifted ? [new AuditChange("supplyHold", "on", "lifted")] : [];

    public static ShipmentView View(Shipment s, bool unblinded) => new(
        s.ShipmentId,
        s.SiteId,
        Shipment.Name(s.Status),
        s.Reason,
        s.Kits.Count,
        s.Kits.OrderBy(k => k.KitNumber, StringComparer.Ordinal).Select(k => new ShipmentKitView(k.KitNumber, unblinded ? k.KitType : null, Shipment.Name(k.Condition), k.Starter?.Id, k.PackFor)).ToList(),
        unblinded ? s.Kits.GroupBy(k => k.KitType).ToDictionary(g => g.Key, g => g.Count()) : null,
        s.CreatedAt,
        s.DispatchedAt,
        s.ReceivedAt,
        s.ReleasedAt);
}
