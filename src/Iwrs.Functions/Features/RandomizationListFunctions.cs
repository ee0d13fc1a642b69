using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Randomization;
using Iwrs.Domain.Studies;
using Iwrs.Functions.Errors;
using Iwrs.Functions.Hosting;
using Iwrs.Storage.Stores;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Features;

/// <summary>
/// The randomization list: generated from a secret seed or imported from CSV by the unblinded statistician,
/// activated with its SHA-256 commitment in the audit trail, exportable only to unblinded statisticians.
/// </summary>
public sealed class RandomizationListFunctions(RequestBody body, IOptions<ApiOptions> options, TimeProvider time)
{
    public sealed record GenerateRequest(string? Seed, int? SlotsPerStratum);

    /// <summary><paramref name="PublicSlotsPerStratum"/>: the number asked for; <paramref name="UsablePerStratum"/>: the slots each stratum may use (in a blinded study the public number, never the block-rounded length). <paramref name="Commitment"/>: the salted commitment the audit trail shows; <paramref name="CommitmentSalt"/>: its key (hex), which lets the holder of the exported list recompute it.</summary>
    public sealed record ListSummary(string Commitment, string Source, string? Algorithm, DateTimeOffset ActivatedAt, string ActivatedBy, IReadOnlyDictionary<string, int> SlotsPerStratum, IReadOnlyDictionary<string, int> UsedPerStratum, string? Seed, string? CommitmentSalt = null, int? PublicSlotsPerStratum = null, IReadOnlyDictionary<string, int>? UsablePerStratum = null);

    /// <summary>An abandoned upload's lock is taken over after this long.</summary>
    public static readonly TimeSpan StagingLease = TimeSpan.FromMinutes(15);

    [Function("GenerateRandomizationList")]
    [Description("Unblinded statistician: generate and activate the list from a secret seed (base64, ≥ 32 bytes; drawn for you if omitted and returned once).")]
    public async Task<IResult> GenerateRandomizationList([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/randomization-list/generate")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var read = await body.ReadAsync<GenerateRequest>(req, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ManageRandomizationList, null, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        byte[] seed;
        var drawn = read.Value.Seed is null;
        if (drawn)
        {
            seed = RandomNumberGenerator.GetBytes(32);
        }
        else
        {
            var buffer = new byte[read.Value.Seed!.Length];
            if (!Convert.TryFromBase64String(read.Value.Seed, buffer, out var written) || written < ListGenerator.MinimumSeedBytes)
            {
                return Problems.From(DomainError.Validation([new FieldError("seed", $"must be base64 of at least {ListGenerator.MinimumSeedBytes} bytes.")]));
            }

            seed = buffer[..written];
        }

        var list = ListGenerator.Generate(context!.Study.Configuration, seed, read.Value.SlotsPerStratum ?? 0);
        if (!list.IsSuccess)
        {
            return Problems.From(list.Error!);
        }

        return await ActivateAsync(context, list.Value, ListGenerator.Algorithm, drawn ? Convert.ToBase64String(seed) : null, ct);
    }

    [Function("ImportRandomizationList")]
    [Description("Unblinded statistician: import and activate a list from CSV (stratum,position,block,blockSize,arm).")]
    public async Task<IResult> ImportRandomizationList([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/randomization-list/import")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var minimum = RequestQuery.Int(req, "minimumSlotsPerStratum");
        if (!minimum.IsSuccess)
        {
            return Problems.From(minimum.Error!);
        }


        if (req.ContentType is not { } type || !type.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase))
        {
            return Problems.From(new DomainError("unsupported-media-type", "Send the list as text/csv."));
        }

        var limit = options.Value.MaxRequestBodyBytes * 8;
        if (req.ContentLength > limit)
        {
            return Problems.From(new DomainError("request-too-large", $"The list is larger than {limit} bytes."));
        }

        using var reader = new StreamReader(req.Body, Encoding.UTF8);
        var buffer = new char[limit + 1];
        var length = await reader.ReadBlockAsync(buffer.AsMemory(), ct);
        if (length > limit)
        {
            return Problems.From(new DomainError("request-too-large", $"The list is larger than {limit} bytes."));
        }

        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ManageRandomizationList, null, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var required = ListImport.MinimumSlotsPerStratum(context!.Study.Configuration, minimum.Value);
        if (!required.IsSuccess)
        {
            return Problems.From(required.Error!);
        }

        var list = ListImport.FromCsv(context.Study.Configuration, new string(buffer, 0, length), required.Value);
        return list.IsSuccess
            ? await ActivateAsync(context, list.Value, null, null, ct)
            : Problems.From(list.Error!);
    }

    [Function("GetRandomizationList")]
    [Description("Unblinded statistician: the active list's commitment and use per stratum.")]
    public async Task<IResult> GetRandomizationList([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/randomization-list")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ManageRandomizationList, null, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var active = await ListRows.GetActiveAsync(context!.Table, studyId, ct);
        return active is null
            ? Problems.From(new DomainError("no-active-list", "No randomization list is active in this study yet."))
            : TypedResults.Ok(await SummaryOf(context.Table, context.Study.Configuration, active, null, null, ct));
    }

    [Function("ExportRandomizationList")]
    [Description("Unblinded statistician: the active list as canonical CSV; its HMAC-SHA256 keyed by the X-Iwrs-Commitment-Salt header is the commitment in the audit trail.")]
    public async Task<IResult> ExportRandomizationList([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/randomization-list/export")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ManageRandomizationList, null, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var active = await ListRows.GetActiveAsync(context!.Table, studyId, ct);
        if (active is null)
        {
            return Problems.From(new DomainError("no-active-list", "No randomization list is active in this study yet."));
        }

        // Rebuilt from the slot rows through the same canonical form; if storage was altered the hash shows it.
        var csv = new StringBuilder(RandomizationList.Header).Append('\n');
        foreach (var s in await ListRows.AllSlotsAsync(context.Table, studyId, active.ListId, ct))
        {
            csv.Append(CultureInfo.InvariantCulture, $"{s.Slot.StratumKey},{s.Slot.Position},{s.Slot.BlockNumber},{s.Slot.BlockSize},{s.Slot.ArmCode}\n");
        }

        var rebuilt = ListImport.FromCsv(context.Study.Configuration, csv.ToString(), 1);
        var export = rebuilt.IsSuccess ? CsvOf(rebuilt.Value) : null;
        if (!rebuilt.IsSuccess || rebuilt.Value.Commitment != active.Commitment || export != rebuilt.Value.CanonicalText)
        {
            return Problems.From(new DomainError("list-commitment-mismatch", "The stored list no longer matches its commitment; it has been altered in storage."));
        }

        req.HttpContext.Response.Headers["X-Iwrs-Commitment"] = active.Published ?? active.Commitment;
        if (active.Salt is not null)
        {
            req.HttpContext.Response.Headers["X-Iwrs-Commitment-Salt"] = active.Salt;
        }

        return Results.Text(export, "text/csv", Encoding.UTF8);
    }

    /// <summary>
    /// The list written through <see cref="CsvText"/> like every CSV export. Study codes never start with a formula
    /// character (the study configuration refuses a leading '-'), so this is the canonical text byte for byte, and the
    /// export both hashes to the commitment and is safe to open in a spreadsheet.
    /// </summary>
    private static string CsvOf(RandomizationList list)
    {
        var csv = new StringBuilder(CsvText.Row(RandomizationList.Header.Split(',')));
        foreach (var s in list.Slots)
        {
            csv.Append(CsvText.Row([s.StratumKey, Number(s.Position), Number(s.BlockNumber), Number(s.BlockSize), s.ArmCode]));
        }

        return csv.ToString();
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The answer when the study has an active list already: this list (a repeat), or a refusal; null when it has none.</summary>
    private static async Task<IResult?> ActiveAnswerAsync(TableClient table, StudyConfiguration study, RandomizationList list, string? algorithm, CancellationToken ct)
    {
        var studyId = study.StudyId;
        var active = await ListRows.GetActiveAsync(table, studyId, ct);
        if (active is null)
        {
            return null;
        }

        return active.Commitment == list.Commitment
            ? TypedResults.Ok(await SummaryOf(table, study, active, algorithm, null, ct))
            : Problems.From(new DomainError("list-already-active", $"Study '{studyId}' already has an active randomization list ({(active.Published ?? active.Commitment)[..16]}…); it cannot be replaced."));
    }

    /// <summary>
    /// Writes the slots (several transactions: a list has hundreds of rows) under a staging lock, then activates
    /// the list in one transaction with its audit record. Until that last transaction nobody can randomize
    /// against it; after it, it cannot be replaced.
    /// </summary>
    private async Task<IResult> ActivateAsync(StudyContext context, RandomizationList list, string? algorithm, string? drawnSeed, CancellationToken ct)
    {
        var studyId = context.StudyId;
        var table = context.Table;
        var listId = ListRows.ListIdOf(list.Commitment);

        // The head first, then the configuration the list was made from: a configuration loaded after this point
        // moves the head and makes the activation fail, so a list never activates against a design it was not made for.
        var head = await AuditTrail.ReadHeadAsync(table, studyId, ct);
        var study = await context.Studies.GetAsync(studyId, ct);
        if (study?.ContentHash != context.Study.ContentHash)
        {
            return Problems.From(new DomainError("write-conflict", "The study configuration changed while the list was being made; make it again."));
        }

        if (await ActiveAnswerAsync(table, context.Study.Configuration, list, algorithm, ct) is { } answer)
        {
            return answer;
        }

        var staging = await ListRows.TakeStagingLockAsync(table, studyId, listId, time.GetUtcNow(), StagingLease, ct);
        if (!staging.IsSuccess)
        {
            return Problems.From(staging.Error!);
        }

        // Again under the lock: another upload may have activated (releasing the lock, which this one then took) since
        // the look above, and the slots below are written at the keys the active list's slots have (attacker review).
        // Activation inserts the list row and releases the lock in one transaction, so whoever holds the lock and finds
        // no list row writes over no active list's slots.
        if (await ActiveAnswerAsync(table, context.Study.Configuration, list, algorithm, ct) is { } late)
        {
            return late;
        }

        // Each chunk also touches the staging row under its ETag: an upload whose lock was taken over stops at once
        // instead of overwriting the new upload's slots.
        var written = await ListRows.WriteSlotsAsync(table, studyId, listId, list.Slots, staging.Value, ct);
        if (!written.IsSuccess)
        {
            return Problems.From(written.Error!);
        }

        var now = time.GetUtcNow();
        // The published commitment is keyed by a fresh random salt (attacker review: an unsalted hash of a small list
        // can be tested against guesses by anyone who reads the audit trail).
        var salt = RandomNumberGenerator.GetBytes(32);
        var activation = new StudyChange();
        activation.AddRange(ListRows.Activate(studyId, list, now, context.Caller.UserId, written.Value, salt));
        try
        {
            await AuditTrail.SubmitAsync(table, studyId, activation, now, new AuditEntry(
                context.Caller.UserId, context.ActingAs.Name(), Channel.Http, "randomization-list.activated", "randomization-list",
                [
                    new AuditChange("commitment", null, RandomizationList.SaltedCommitment(salt, list.CanonicalText)),
                    new AuditChange("source", null, list.Source),
                    new AuditChange("algorithm", null, algorithm),
                    new AuditChange("slots", null, list.Slots.Count.ToString(CultureInfo.InvariantCulture), Unblinded: true),
                ]), ct, head: head);
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 or 409 or 412)
        {
            return Problems.From(new DomainError("list-already-active", "The study changed, or another list was activated, while this one was being prepared; it was not activated. Look at the active list, then try again if needed."));
        }

        var stored = (await ListRows.GetActiveAsync(table, studyId, ct))!;
        return TypedResults.Created($"/api/studies/{studyId}/randomization-list", await SummaryOf(table, context.Study.Configuration, stored, algorithm, drawnSeed, ct));
    }

    private static async Task<ListSummary> SummaryOf(TableClient table, StudyConfiguration study, ListRows.ActiveList active, string? algorithm, string? seed, CancellationToken ct)
    {
        // Every stratum's pointer is a state| row: one range read, not one point read per stratum.
        var state = await RandomizationState.ReadAsync(table, study.StudyId, ct);
        var used = active.SlotCounts.Keys.ToDictionary(stratum => stratum, stratum => state.PointerFor(stratum).Next - 1, StringComparer.Ordinal);

        var usable = active.SlotCounts.ToDictionary(c => c.Key, c => ListCapacity.UsableSlots(study, c.Value, active.PublicSlotsPerStratum), StringComparer.Ordinal);
        return new ListSummary(active.Published ?? active.Commitment, active.Source, algorithm, active.ActivatedAt, active.ActivatedBy, active.SlotCounts, used, seed, active.Salt, active.PublicSlotsPerStratum, usable);
    }
}
