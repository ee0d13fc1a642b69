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
    public sealed record InventoryKit(string KitNumber, string? KitType, DateOnly? Expiry, string? Starter = null, string? PackFor = null);

    /// <summary>
    /// <paramref name="Available"/> and <paramref name="Kits"/>: for blinded roles every kit on the shelf, those set aside
    /// after a loss among them (which ones are set aside would tell types); for unblinded roles the dispensable kits,
    /// with the set-aside ones in <paramref name="SetAside"/>.
    /// </summary>
    /// <paramref name="InPacks"/>: on subject packs, the kits at the site in their subjects' packs (<paramref name="Kits"/>
    /// then holds the starters' kits, each with its starter).
    public sealed record InventoryView(string SiteId, int Available, IReadOnlyList<InventoryKit> Kits, IReadOnlyDictionary<string, int>? AvailableByKitType, int InTransit, IReadOnlyList<string> OpenShipments, IReadOnlyList<InventoryKit>? SetAside = null, IReadOnlyList<InventoryKit>? InPacks = null);

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

        var shelfRead = KitRows.ShelfAsync(context.Table, studyId, siteId, ct);
        var asideRead = KitRows.AsideAsync(context.Table, studyId, siteId, ct);
        var openRead = ShipmentRows.OpenForSiteAsync(context.Table, studyId, siteId, ct);
        var packsRead = context.Study.Configuration.SubjectPacks is null ? null : KitRows.PacksAtSiteAsync(context.Table, studyId, siteId, ct);
        var starters = (await shelfRead).Where(k => k.Starter is not null).ToDictionary(k => k.Entry.KitNumber, k => k.Starter!.Id, StringComparer.Ordinal);
        var shelf = (await shelfRead).Select(k => (k.Entry, Type: k.KitType));
        var aside = (await asideRead).Select(k => (k.Entry, Type: k.KitType)).ToList();
        var open = await openRead;
        var unblinded = context.Unblinded;
        var typed = (unblinded ? shelf : shelf.Concat(aside)).ToList();
        return TypedResults.Ok(new InventoryView(
            siteId,
            typed.Count,
            View(typed),
            unblinded ? typed.GroupBy(k => k.Type).ToDictionary(g => g.Key, g => g.Count()) : null,
            open.Sum(o => o.InTransit.Values.Sum()),
            open.Select(o => o.ShipmentId).ToList(),
            unblinded ? View(aside) : null,
            packsRead is null ? null : [.. (await packsRead).OrderBy(k => k.Entry.KitNumber, StringComparer.Ordinal).Select(k => new InventoryKit(k.Entry.KitNumber, null, unblinded ? k.Entry.Expiry : null, PackFor: k.SubjectId))]));

        List<InventoryKit> View(IEnumerable<(KitRows.IndexEntry Entry, string Type)> kits) =>
            [.. kits.OrderBy(k => k.Entry.KitNumber, StringComparer.Ordinal).Select(k => new InventoryKit(k.Entry.KitNumber, unblinded ? k.Type : null, unblinded ? k.Entry.Expiry : null, starters.GetValueOrDefault(k.Entry.KitNumber)))];
    }
}
