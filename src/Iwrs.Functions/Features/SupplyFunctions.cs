using System.Globalization;
using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Supply;
using Iwrs.Functions.Errors;
using Iwrs.Functions.Hosting;
using Iwrs.Storage.Stores;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Features;

/// <summary>Kit import, shipments from the depot to sites, receipt kit by kit, and a site's stock.</summary>
public sealed class SupplyFunctions(RequestBody body, Shipping shipping, TimeProvider time)
{
    public sealed record KitImportRequest(IReadOnlyList<KitLine?>? Kits);

    public sealed record KitImportResult(int Imported, int AlreadyPresent, int Total);

    public sealed record ShipmentRequest(string? SiteId, IReadOnlyDictionary<string, int>? Kits);

    public sealed record ReceiptLine(string? KitNumber, string? Condition);

    public sealed record ReceiptRequest(IReadOnlyList<ReceiptLine?>? Kits);

    public sealed record ShipmentKitView(string KitNumber, string? KitType, string Condition);

    public sealed record ShipmentView(string ShipmentId, string SiteId, string Status, string Reason, int KitCount, IReadOnlyList<ShipmentKitView> Kits, IReadOnlyDictionary<string, int>? ByKitType, DateTimeOffset CreatedAt, DateTimeOffset? DispatchedAt, DateTimeOffset? ReceivedAt);

    /// <summary>Type and expiry for unblinded roles only: types usually come from different lots, so an expiry can tell a type.</summary>
    public sealed record InventoryKit(string KitNumber, string? KitType, DateOnly? Expiry);

    public sealed record InventoryView(string SiteId, int Available, IReadOnlyList<InventoryKit> Kits, IReadOnlyDictionary<string, int>? AvailableByKitType, int InTransit, IReadOnlyList<string> OpenShipments);

    /// <summary>Kits per import transaction: 2 rows each plus the audit record and head, under the 100-operation limit.</summary>
    public const int KitsPerTransaction = 48;

    [Function("ImportKits")]
    [Description("Depot manager: import the depot's kit list (kit number, kit type, lot, expiry). Idempotent per kit.")]
    public Task<IResult> ImportKitsFunction([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/kits/import")] HttpRequest req, string studyId, CancellationToken ct) =>
        ImportKits(studyId, req, req.HttpContext, body, time, ct);

    [Function("ListShipments")]
    [Description("Shipments; a pharmacist sees its site's, with kit numbers only.")]
    public Task<IResult> ListShipmentsFunction([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/shipments")] HttpRequest req, string studyId, CancellationToken ct) =>
        ListShipments(studyId, RequestQuery.String(req, "siteId"), req.HttpContext, ct);

    [Function("CreateShipment")]
    [Description("Depot manager: ship kits of each type to a site (first expiry, first out).")]
    public Task<IResult> CreateShipmentFunction([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/shipments")] HttpRequest req, string studyId, CancellationToken ct) =>
        CreateShipment(studyId, req, req.HttpContext, body, shipping, ct);

    [Function("DispatchShipment")]
    [Description("Depot manager: the shipment has left the depot.")]
    public Task<IResult> DispatchShipmentFunction([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/shipments/{shipmentId}/dispatch")] HttpRequest req, string studyId, string shipmentId, CancellationToken ct) =>
        Dispatch(studyId, shipmentId, req.HttpContext, time, ct);

    [Function("ReceiveShipment")]
    [Description("Pharmacist: receive kits as ok, damaged or missing; only ok kits become available.")]
    public Task<IResult> ReceiveShipmentFunction([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/shipments/{shipmentId}/receive")] HttpRequest req, string studyId, string shipmentId, CancellationToken ct) =>
        Receive(studyId, shipmentId, req, req.HttpContext, body, time, ct);

    [Function("GetInventory")]
    [Description("A site's available kits and kits on the way; per-type counts for unblinded roles only.")]
    public Task<IResult> GetInventoryFunction([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/sites/{siteId}/inventory")] HttpRequest req, string studyId, string siteId, CancellationToken ct) =>
        Inventory(studyId, siteId, req.HttpContext, ct);

    private static async Task<IResult> ImportKits(string studyId, HttpRequest request, HttpContext http, RequestBody body, TimeProvider time, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ImportKits, null, http, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var read = await body.ReadAsync<KitImportRequest>(request, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var valid = KitImport.Validate(context!.Study.Configuration, read.Value.Kits ?? [], today);
        if (!valid.IsSuccess)
        {
            return Problems.From(valid.Error!);
        }

        // A list of thousands cannot be one transaction (100 operations). Each chunk is one, with its own audit
        // record; a kit already present with the same data is skipped, so re-sending a list after a failure
        // completes it without duplicates.
        int imported = 0, present = 0;
        foreach (var chunk in valid.Value.Chunk(KitsPerTransaction))
        {
            var result = await context!.Writes.RunAsync(studyId, async attemptCt =>
            {
                var actions = new StudyChange();
                var fresh = new List<Kit>();
                foreach (var kit in chunk)
                {
                    var existing = await KitRows.GetAsync(context.Table, studyId, kit.KitNumber, attemptCt);
                    if (existing is not null)
                    {
                        var same = existing.Kit.KitType == kit.KitType && existing.Kit.Lot == kit.Lot && existing.Kit.Expiry == kit.Expiry;
                        if (!same)
                        {
                            return Result<(int, int)>.Fail(new DomainError("kit-conflict", $"Kit '{kit.KitNumber}' already exists with a different type, lot or expiry."));
                        }

                        continue;
                    }

                    var sort = KitRows.NewSortKey();
                    actions.AddRange(KitRows.Import(studyId, kit, sort));
                    fresh.Add(kit);
                }

                if (fresh.Count > 0)
                {
                    await AuditTrail.SubmitAsync(context.Table, studyId, actions, time.GetUtcNow(), new AuditEntry(
                        context.Caller.UserId, context.ActingAs.Name(), Channel.Http, "kits.imported", "depot",
                        [
                            new AuditChange("kitCount", null, fresh.Count.ToString(CultureInfo.InvariantCulture)),
                            new AuditChange("kitNumbers", null, string.Join(",", fresh.Select(k => k.KitNumber))),
                            new AuditChange("kits", null, string.Join(",", fresh.Select(k => $"{k.KitNumber}:{k.KitType}:{k.Lot}:{k.Expiry:yyyy-MM-dd}")), Unblinded: true),
                        ]), attemptCt);
                }

                return Result<(int, int)>.Ok((fresh.Count, chunk.Length - fresh.Count));
            }, ct);
            if (!result.IsSuccess)
            {
                return Problems.From(result.Error!);
            }

            imported += result.Value.Item1;
            present += result.Value.Item2;
        }

        return TypedResults.Ok(new KitImportResult(imported, present, valid.Value.Count));
    }

    private static async Task<IResult> CreateShipment(string studyId, HttpRequest request, HttpContext http, RequestBody body, Shipping shipping, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ManageShipments, null, http, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var read = await body.ReadAsync<ShipmentRequest>(request, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        var config = context!.Study.Configuration;
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

    private static async Task<IResult> Dispatch(string studyId, string shipmentId, HttpContext http, TimeProvider time, CancellationToken ct)
    {
        if (!Identifiers.IsValid(shipmentId))
        {
            return Problems.From(new DomainError("shipment-not-found", "There is no such shipment."));
        }

        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ManageShipments, null, http, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        return await ResultProblems.WriteAsync(context!, async attemptCt =>
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

    private static async Task<IResult> Receive(string studyId, string shipmentId, HttpRequest request, HttpContext http, RequestBody body, TimeProvider time, CancellationToken ct)
    {
        var read = await body.ReadAsync<ReceiptRequest>(request, ct);
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
        var table = await http.RequestServices.GetRequiredService<IwrsTable>().GetAsync(ct);
        var first = Identifiers.IsValid(studyId) && Identifiers.IsValid(shipmentId) ? await ShipmentRows.GetAsync(table, studyId, shipmentId, ct) : null;
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ReceiveShipment, first?.Shipment.SiteId, http, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        if (first is null)
        {
            return Problems.From(new DomainError("shipment-not-found", $"There is no shipment '{shipmentId}'."));
        }

        return await ResultProblems.WriteAsync(context!, async attemptCt =>
        {
            var stored = await ShipmentRows.GetAsync(context!.Table, studyId, shipmentId, attemptCt);
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
            foreach (var kit in changed)
            {
                var current = await KitRows.GetAsync(context.Table, studyId, kit.KitNumber, attemptCt);
                var status = kit.Condition switch
                {
                    KitCondition.Ok => KitStatus.Available,
                    KitCondition.Damaged => KitStatus.Damaged,
                    _ => KitStatus.Missing,
                };
                var updated = current!.Kit with { Status = status, Location = shipment.SiteId };
                actions.AddRange(KitRows.Receive(studyId, current, updated, shipment.SiteId));
            }

            await AuditTrail.SubmitAsync(context.Table, studyId, actions, now, new AuditEntry(
                context.Caller.UserId, context.ActingAs.Name(), Channel.Http, "shipment.received", $"shipment:{shipmentId}",
                [
                    .. changed.Select(k => new AuditChange($"kit:{k.KitNumber}", "pending", Shipment.Name(k.Condition))),
                    new AuditChange("status", Shipment.Name(stored.Shipment.Status), Shipment.Name(shipment.Status)),
                ]), attemptCt);
            return shipment;
        }, s => TypedResults.Ok(View(s, context!.Unblinded)), ct);
    }

    private static async Task<IResult> ListShipments(string studyId, string? siteId, HttpContext http, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ViewShipments, siteId, http, ct);
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

    private static async Task<IResult> Inventory(string studyId, string siteId, HttpContext http, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ViewInventory, siteId, http, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        if (context!.Study.Configuration.FindSite(siteId) is null)
        {
            return Problems.From(new DomainError("site-not-found", $"Study '{studyId}' has no site '{siteId}'."));
        }

        var kits = await KitRows.AllAsync(context.Table, studyId, $"{KitRows.AvailablePrefix}{siteId}|", ct);
        var typed = kits.Select(k => (Entry: k, Type: k.RowKey.Split('|')[2])).ToList();
        var open = await ShipmentRows.OpenForSiteAsync(context.Table, studyId, siteId, ct);
        return TypedResults.Ok(new InventoryView(
            siteId,
            kits.Count,
            typed.OrderBy(k => k.Entry.KitNumber, StringComparer.Ordinal).Select(k => new InventoryKit(k.Entry.KitNumber, context.Unblinded ? k.Type : null, context.Unblinded ? k.Entry.Expiry : null)).ToList(),
            context.Unblinded ? typed.GroupBy(k => k.Type).ToDictionary(g => g.Key, g => g.Count()) : null,
            open.Sum(o => o.InTransit.Values.Sum()),
            open.Select(o => o.ShipmentId).ToList()));
    }

    public static ShipmentView View(Shipment s, bool unblinded) => new(
        s.ShipmentId,
        s.SiteId,
        Shipment.Name(s.Status),
        s.Reason,
        s.Kits.Count,
        s.Kits.OrderBy(k => k.KitNumber, StringComparer.Ordinal).Select(k => new ShipmentKitView(k.KitNumber, unblinded ? k.KitType : null, Shipment.Name(k.Condition))).ToList(),
        unblinded ? s.Kits.GroupBy(k => k.KitType).ToDictionary(g => g.Key, g => g.Count()) : null,
        s.CreatedAt,
        s.DispatchedAt,
        s.ReceivedAt);
}
