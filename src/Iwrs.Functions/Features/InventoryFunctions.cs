using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Functions.Errors;
using Iwrs.Storage.Stores;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Features;

/// <summary>A site's stock: kit numbers for everyone; types, expiries and per-type counts for unblinded roles only.</summary>
public sealed class InventoryFunctions
{
    /// <summary>Type and expiry for unblinded roles only: types usually come from different lots, so an expiry can tell a type.</summary>
    public sealed record InventoryKit(string KitNumber, string? KitType, DateOnly? Expiry);

    public sealed record InventoryView(string SiteId, int Available, IReadOnlyList<InventoryKit> Kits, IReadOnlyDictionary<string, int>? AvailableByKitType, int InTransit, IReadOnlyList<string> OpenShipments);

    [Function("GetInventory")]
    [Description("A site's available kits and kits on the way; per-type counts for unblinded roles only.")]
    public async Task<IResult> GetInventory([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/sites/{siteId}/inventory")] HttpRequest req, string studyId, string siteId, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ViewInventory, siteId, req.HttpContext, ct);
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
}
