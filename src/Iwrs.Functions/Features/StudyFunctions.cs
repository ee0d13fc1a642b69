using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Studies;
using Iwrs.Functions.Auth;
using Iwrs.Functions.Errors;
using Iwrs.Functions.Hosting;
using Iwrs.Storage.Stores;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Features;

/// <summary>Study configuration: list, read (blinded or not), load, and one site's details.</summary>
public sealed class StudyFunctions(StudyStore studies, AccessResolver access, RequestBody body, IwrsTable table, TimeProvider time)
{
    public sealed record LoadResult(string StudyId, int Version, string Outcome, string ContentHash);

    [Function("ListStudies")]
    [Description("The studies the caller holds a role in (all, for administrators).")]
    public Task<IResult> ListStudiesFunction([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies")] HttpRequest req, CancellationToken ct) =>
        List(req.HttpContext, studies, access, ct);

    [Function("GetStudy")]
    [Description("A study; arms, kit types and block sizes are withheld from blinded roles.")]
    public Task<IResult> GetStudyFunction([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}")] HttpRequest req, string studyId, CancellationToken ct) =>
        Get(studyId, req.HttpContext, studies, access, ct);

    [Function("PutStudy")]
    [Description("Load or update a study configuration (administrator, or the study's unblinded statistician).")]
    public Task<IResult> PutStudyFunction([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "studies/{studyId}")] HttpRequest req, string studyId, CancellationToken ct) =>
        Load(studyId, req, req.HttpContext, body, studies, access, table, time, ct);

    [Function("GetStudyConfiguration")]
    [Description("The full configuration as loaded (unblinded roles).")]
    public Task<IResult> GetStudyConfigurationFunction([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/configuration")] HttpRequest req, string studyId, CancellationToken ct) =>
        GetConfiguration(studyId, req.HttpContext, studies, access, ct);

    [Function("GetSite")]
    [Description("One site (roles at that site, or study-wide roles).")]
    public Task<IResult> GetSiteFunction([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/sites/{siteId}")] HttpRequest req, string studyId, string siteId, CancellationToken ct) =>
        GetSite(studyId, siteId, req.HttpContext, studies, access, ct);

    private static async Task<IResult> List(HttpContext context, StudyStore studies, AccessResolver access, CancellationToken ct)
    {
        var caller = Caller.From(context);
        var all = await studies.ListAsync(ct);
        var visible = new List<StudySummary>();
        foreach (var study in all.OrderBy(s => s.Configuration.StudyId, StringComparer.Ordinal))
        {
            var rights = await access.ForStudyAsync(caller, study.Configuration.StudyId, ct);
            if (rights.HasAnyRole)
            {
                visible.Add(study.Configuration.ToSummary(rights.IsUnblinded));
            }
        }

        return TypedResults.Ok(visible);
    }

    private static async Task<IResult> Get(string studyId, HttpContext context, StudyStore studies, AccessResolver access, CancellationToken ct)
    {
        var (study, rights, refusal) = await Authorize(studyId, StudyAction.ViewStudy, null, context, studies, access, ct);
        return refusal ?? TypedResults.Ok(study!.Configuration.ToSummary(rights!.IsUnblinded));
    }

    private static async Task<IResult> GetConfiguration(string studyId, HttpContext context, StudyStore studies, AccessResolver access, CancellationToken ct)
    {
        var (study, _, refusal) = await Authorize(studyId, StudyAction.ViewConfiguration, null, context, studies, access, ct);
        return refusal ?? Results.Text(study!.CanonicalJson, "application/json", Encoding.UTF8);
    }

    private static async Task<IResult> GetSite(string studyId, string siteId, HttpContext context, StudyStore studies, AccessResolver access, CancellationToken ct)
    {
        var (study, _, refusal) = await Authorize(studyId, StudyAction.ViewSite, siteId, context, studies, access, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var site = study!.Configuration.FindSite(siteId);
        return site is null
            ? Problems.From(new DomainError("site-not-found", $"Study '{studyId}' has no site '{siteId}'."))
            : TypedResults.Ok(new SiteSummary(site.SiteId, site.Name, site.Country, site.TimeZone, site.Active));
    }

    /// <summary>Reads the study and the caller's rights in it; a refusal is the problem to answer with.</summary>
    internal static async Task<(StoredStudy? Study, StudyAccess? Access, IResult? Refusal)> Authorize(
        string studyId, StudyAction action, string? siteId, HttpContext context, StudyStore studies, AccessResolver access, CancellationToken ct)
    {
        if (!Identifiers.IsValid(studyId))
        {
            return (null, null, Problems.From(new DomainError("study-not-found", $"There is no study '{Truncate(studyId)}'.")));
        }

        var rightsTask = access.ForStudyAsync(Caller.From(context), studyId, ct);
        var study = await studies.GetAsync(studyId, ct);
        var rights = await rightsTask;

        // Someone with no role in a study learns nothing about it, not even whether it exists.
        if (study is null || !rights.HasAnyRole)
        {
            return (null, null, Problems.From(new DomainError("study-not-found", $"There is no study '{studyId}' you hold a role in.")));
        }

        var decision = rights.Authorize(action, siteId);
        return decision.IsSuccess ? (study, rights, null) : (null, null, Problems.From(decision.Error!));
    }

    private static string Truncate(string value) => value.Length > 64 ? value[..64] + "…" : value;

    private static async Task<IResult> Load(
        string studyId, HttpRequest request, HttpContext context, RequestBody body, StudyStore studies, AccessResolver access,
        IwrsTable table, TimeProvider time, CancellationToken ct)
    {
        var read = await body.ReadAsync<StudyDefinition>(request, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        var created = StudyConfiguration.Create(read.Value);
        if (!created.IsSuccess)
        {
            return Problems.From(created.Error!);
        }

        var configuration = created.Value;
        if (configuration.StudyId != studyId)
        {
            return Problems.From(new DomainError("study-id-mismatch", $"The path names study '{studyId}' but the body is study '{configuration.StudyId}'."));
        }

        var caller = Caller.From(context);
        var canonical = JsonSerializer.Serialize(configuration.ToDefinition(), RequestBody.SerializerOptions);
        if (canonical.Length > 30_000)
        {
            return Problems.From(DomainError.Validation([new FieldError("$", "The configuration is larger than 30,000 characters once normalized.")]));
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
        var client = await table.GetAsync(ct);

        var outcome = await OptimisticWrite.RunAsync(time, async attemptCt =>
        {
            // The head first: a list activated (or anything else written) after it makes this write fail and re-decide.
            var head = await AuditTrail.ReadHeadAsync(client, studyId, attemptCt);
            var current = await studies.GetAsync(studyId, attemptCt);
            var rights = await access.ForStudyAsync(caller, studyId, attemptCt);

            // Creating a study is the system owner's act; updating one is also open to its unblinded statistician.
            Result<Role> allowed = current is null
                ? rights.IsAdministrator ? Role.Administrator : new DomainError("administrator-required", "Only an administrator can create a study.")
                : rights.Authorize(StudyAction.LoadConfiguration);
            if (!allowed.IsSuccess)
            {
                return Result<(StudyLoadOutcome, int)>.Fail(current is null || rights.HasAnyRole ? allowed.Error! : new DomainError("study-not-found", $"There is no study '{studyId}' you hold a role in."));
            }

            var decision = StudyLoad.Decide(current?.Configuration.Version, current?.ContentHash, configuration, hash);
            if (!decision.IsSuccess || decision.Value == StudyLoadOutcome.Unchanged)
            {
                return decision.IsSuccess ? (decision.Value, current!.Configuration.Version) : Result<(StudyLoadOutcome, int)>.Fail(decision.Error!);
            }

            if (current is not null && StudyLoad.CheckNothingRemoved(current.Configuration, configuration) is { } removed)
            {
                return Result<(StudyLoadOutcome, int)>.Fail(removed);
            }

            if (current is not null && await ListRows.GetActiveAsync(client, studyId, attemptCt) is not null &&
                StudyLoad.CheckDesignUnchanged(current.Configuration, configuration) is { } locked)
            {
                return Result<(StudyLoadOutcome, int)>.Fail(locked);
            }

            var now = time.GetUtcNow();
            var actions = new StudyChange
            {
                StudyStore.Write(configuration, canonical, hash, now, caller.UserId, current?.ETag),

                // Every version is kept, so the audit record's content hash can always be checked against the text.
                StudyStore.WriteVersion(configuration, canonical, hash, now, caller.UserId),
            };
            AuditTrail.Append(actions, studyId, head, now, new AuditEntry(
                caller.UserId,
                allowed.Value.Name(),
                Channel.Http,
                decision.Value == StudyLoadOutcome.Created ? "study.created" : "study.updated",
                $"study:{studyId}",
                [
                    new AuditChange("version", current?.Configuration.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), configuration.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    // A hash of the file covers block sizes and the arm-to-kit mapping: unblinded readers only.
                    new AuditChange("contentHash", current?.ContentHash, hash, Unblinded: true),
                ]));
            await client.SubmitTransactionAsync(actions, attemptCt);
            return (decision.Value, configuration.Version);
        }, ct);

        if (!outcome.IsSuccess)
        {
            return Problems.From(outcome.Error!);
        }

        var (result, version) = outcome.Value;
        var response = new LoadResult(studyId, version, result.ToString().ToLowerInvariant(), hash);
        return result == StudyLoadOutcome.Created
            ? TypedResults.Created($"/api/studies/{studyId}", response)
            : TypedResults.Ok(response);
    }
}
