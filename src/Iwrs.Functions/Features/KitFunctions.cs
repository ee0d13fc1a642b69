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

/// <summary>The depot's kit list: imported in chunks, each one transaction with its audit record.</summary>
public sealed class KitFunctions(RequestBody body, TimeProvider time)
{
    public sealed record KitImportRequest(IReadOnlyList<KitLine?>? Kits);

    public sealed record KitImportResult(int Imported, int AlreadyPresent, int Total);

    /// <summary>Kits per import transaction: 2 rows each plus the audit record and head, under the 100-operation limit.</summary>
    public const int KitsPerTransaction = 48;

    [Function("ImportKits")]
    [Description("Depot manager: import the depot's kit list (kit number, kit type, lot, expiry). Idempotent per kit.")]
    public async Task<IResult> ImportKits([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/kits/import")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var read = await body.ReadAsync<KitImportRequest>(req, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ImportKits, null, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        // One import at a time in a study: the numbering check must see every kit another import is writing.
        var holder = Guid.NewGuid().ToString("N");
        var lease = await LeaseRows.TakeAsync(context!.Table, studyId, ImportLeaseKey, holder, time.GetUtcNow(), ImportLease,
            new DomainError("kit-import-in-progress", "Another kit list is being imported into this study; try again in a minute."), ct);
        if (!lease.IsSuccess)
        {
            return Problems.From(lease.Error!);
        }

        var leaseTag = lease.Value;
        try
        {
            return await ImportAsync(context, studyId, read.Value.Kits ?? [], holder, tag => leaseTag = tag, () => leaseTag, ct);
        }
        finally
        {
            await LeaseRows.ReleaseAsync(context.Table, studyId, ImportLeaseKey, leaseTag, CancellationToken.None);
        }
    }

    /// <summary>The kit import's lease row, and how long it lasts untouched (each chunk renews it).</summary>
    public const string ImportLeaseKey = "kit-import";

    private static readonly TimeSpan ImportLease = TimeSpan.FromMinutes(2);

    private async Task<IResult> ImportAsync(StudyContext context, string studyId, IReadOnlyList<KitLine?> lines, string holder, Action<string> leaseMoved, Func<string> leaseTag, CancellationToken ct)
    {
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        // The study's kits so far: a kit sent again with other data is refused before anything is written, and the
        // numbering check judges each batch with its kits already imported (a list numbered by type, sent in parts).
        var existing = await KitRows.AllAsync(context.Table, studyId, ct);
        var valid = KitImport.Validate(context.Study.Configuration, lines, today, existing);
        if (!valid.IsSuccess)
        {
            return Problems.From(valid.Error!);
        }

        // A list of thousands cannot be one transaction (100 operations). Each chunk is one, with its own audit
        // record; a kit already present (with the same data: Validate refused any other) is skipped, so re-sending a
        // list after a failure completes it without duplicates. The study's kits were read once, above: under the
        // lease no other import adds any, and a chunk that committed adds its own.
        var present = existing.Select(k => k.KitNumber).ToHashSet(StringComparer.Ordinal);
        int imported = 0, skipped = 0;
        foreach (var chunk in valid.Value.Chunk(KitsPerTransaction))
        {
            var result = await context!.Writes.RunAsync(studyId, async attemptCt =>
            {
                var actions = new StudyChange();
                var fresh = new List<Kit>();
                foreach (var kit in chunk)
                {
                    if (present.Contains(kit.KitNumber))
                    {
                        continue;
                    }

                    var sort = KitRows.NewSortKey();
                    actions.AddRange(KitRows.Import(studyId, kit, sort));
                    fresh.Add(kit);
                }

                if (fresh.Count > 0)
                {
                    // The lease in the same transaction: a lease taken over (this import stalled past it) fails the chunk.
                    actions.Add(LeaseRows.Touch(studyId, ImportLeaseKey, holder, time.GetUtcNow(), leaseTag()));
                    var (_, tags) = await AuditTrail.SubmitTaggedAsync(context.Table, studyId, actions, time.GetUtcNow(), new AuditEntry(
                        context.Caller.UserId, context.ActingAs.Name(), Channel.Http, "kits.imported", "depot",
                        [
                            new AuditChange("kitCount", null, fresh.Count.ToString(CultureInfo.InvariantCulture)),
                            new AuditChange("kitNumbers", null, string.Join(",", fresh.Select(k => k.KitNumber))),
                            new AuditChange("kits", null, string.Join(",", fresh.Select(k => $"{k.KitNumber}:{k.KitType}:{k.Lot}:{k.Expiry:yyyy-MM-dd}")), Unblinded: true),
                        ]), attemptCt);
                    if (tags?.GetValueOrDefault(ImportLeaseKey) is { } moved)
                    {
                        leaseMoved(moved);
                    }
                    else if (await context.Table.GetRowAsync(studyId, ImportLeaseKey, attemptCt) is { } row && row.GetString("ListId") == holder)
                    {
                        // Committed, its answer lost: the lease as it now stands, if still ours.
                        leaseMoved(row.ETag.ToString());
                    }
                }

                return Result<List<Kit>>.Ok(fresh);
            }, ct);
            if (!result.IsSuccess)
            {
                return Problems.From(result.Error!);
            }

            present.UnionWith(result.Value.Select(k => k.KitNumber));
            imported += result.Value.Count;
            skipped += chunk.Length - result.Value.Count;
        }

        return TypedResults.Ok(new KitImportResult(imported, skipped, valid.Value.Count));
    }
}
