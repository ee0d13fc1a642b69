using Iwrs.Domain.Audit;
using Iwrs.Domain.Studies;
using Iwrs.Domain.Supply;
using Iwrs.Functions.Hosting;
using Iwrs.Storage.Stores;
using Azure.Data.Tables;

namespace Iwrs.Functions.Features;

/// <summary>
/// The resupply timer: for every active site of every open study, usable kits on the shelf plus kits on the
/// way, per kit type, against the trigger level; below it, one shipment up to the maximum level. Kits on the way
/// count, and the decision is taken again inside the write under the audit head's ETag, so running the check
/// twice — or on two instances at once — never orders twice.
/// </summary>
public sealed class ResupplyCheck(StudyStore studies, IwrsTable table, Shipping shipping, TimeProvider time, ILogger<ResupplyCheck> log)
{
    public const string FunctionName = "ResupplyCheck";

    public async Task<IReadOnlyList<string>> RunAsync(TimerInvocation invocation, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        var lines = new List<string>();
        foreach (var stored in await studies.ListAsync(ct))
        {
            var study = stored.Configuration;
            if (study.Status != StudyStatus.Open)
            {
                continue;
            }

            foreach (var site in study.Sites.Where(s => s.Active))
            {
                Domain.Result<Shipment> created;
                try
                {
                    var need = await NeedAsync(client, study, site, ct);
                    if (need.Count == 0)
                    {
                        continue;
                    }

                    created = await shipping.CreateAsync(
                        client, study, site.SiteId, need, "resupply", "system", "system", Channel.Timer, ct,
                        recompute: () => NeedAsync(client, study, site, ct));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One site's failure must not leave every later site unsupplied until the next run.
                    // Type and stack only: exception messages can quote row keys, which name kit types.
                    log.LogError("Resupply check failed for {Study}/{Site}: {Error} {Stack}", study.StudyId, site.SiteId, e.GetType().Name, e.StackTrace);
                    lines.Add($"{study.StudyId}/{site.SiteId}: failed ({e.GetType().Name})");
                    continue;
                }

                if (created.IsSuccess)
                {
                    lines.Add($"{study.StudyId}/{site.SiteId}: shipment {created.Value.ShipmentId} with {created.Value.Kits.Count} kits");
                }
                else if (created.Error!.Code != "no-longer-needed")
                {
                    // Said without kit types: the log is read by people who may be blinded.
                    log.LogWarning("Resupply for {Study}/{Site} not ordered: {Code}", study.StudyId, site.SiteId, created.Error.Code);
                    lines.Add($"{study.StudyId}/{site.SiteId}: not ordered ({created.Error.Code})");
                }
            }
        }

        lines.Add(lines.Count == 0 ? "no site below its trigger level" : $"{lines.Count} site(s) handled");
        return lines;
    }

    /// <summary>Kits of each type to order for one site (none: stock is fine). Kits that will expire before use do not count.</summary>
    private async Task<IReadOnlyDictionary<string, int>> NeedAsync(TableClient client, StudyConfiguration study, Site site, CancellationToken ct)
    {
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var usableFrom = Dispensability.EarliestAllowedExpiry(today, study.VisitSchedule, site.Supply);
        var open = await ShipmentRows.OpenForSiteAsync(client, study.StudyId, site.SiteId, ct);
        var stock = new List<StockLevel>();
        foreach (var type in study.KitTypes)
        {
            var shelf = await KitRows.AllAsync(client, study.StudyId, $"{KitRows.AvailablePrefix}{site.SiteId}|{type.Code}|", ct);
            stock.Add(new StockLevel(type.Code, shelf.Count(k => k.Expiry >= usableFrom), open.Sum(o => o.InTransit.GetValueOrDefault(type.Code))));
        }

        return Resupply.Need(study, site.Supply, stock);
    }
}
