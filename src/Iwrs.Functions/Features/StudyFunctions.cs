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
using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Features;

/// <summary>Study configuration: list, read (blinded or not), load, and one site's details.</summary>
public sealed class StudyFunctions(StudyStore studies, AccessResolver access, RequestBody body, IwrsTable table, TimeProvider time, IOptions<ApiOptions> options)
{
    public sealed record LoadResult(string StudyId, int Version, string Outcome, string ContentHash);

    [Function("ListStudies")]
    [Description("The studies the caller holds a role in (all, for administrators).")]
    public async Task<IResult> ListStudies([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies")] HttpRequest req, CancellationToken ct)
    {
        var caller = Caller.From(req.HttpContext);
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

    [Function("GetStudy")]
    [Description("A study; arms, kit types and block sizes are withheld from blinded roles.")]
    public async Task<IResult> GetStudy([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ViewStudy, null, req.HttpContext, ct);
        return refusal ?? TypedResults.Ok(context!.Study.Configuration.ToSummary(context.Access.IsUnblinded));
    }

    [Function("GetStudyConfiguration")]
    [Description("The full configuration as loaded (unblinded roles).")]
    public async Task<IResult> GetStudyConfiguration([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/configuration")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ViewConfiguration, null, req.HttpContext, ct);
        return refusal ?? Results.Text(context!.Study.CanonicalJson, "application/json", Encoding.UTF8);
    }

    [Function("GetSite")]
    [Description("One site (roles at that site, or study-wide roles).")]
    public async Task<IResult> GetSite([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/sites/{siteId}")] HttpRequest req, string studyId, string siteId, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ViewSite, siteId, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var site = context!.Study.Configuration.FindSite(siteId);
        return site is null
            ? Problems.From(new DomainError("site-not-found", $"Study '{studyId}' has no site '{siteId}'."))
            : TypedResults.Ok(new SiteSummary(site.SiteId, site.Name, site.Country, site.TimeZone, site.Active));
    }

    [Function("PutStudy")]
    [Description("Load or update a study configuration (administrator, or the study's unblinded statistician).")]
    public async Task<IResult> PutStudy([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "studies/{studyId}")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var read = await body.ReadAsync<StudyDefinition>(req, ct);
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

        if (configuration.SubjectPacks is not null && !options.Value.SubjectPacksPreview)
        {
            return Problems.From(new DomainError(
                "subject-packs-preview",
                "The subject-pack supply design (supply.subjectPacks) is not complete in this service yet; remove it to run the study on a shared shelf, or set Api:SubjectPacksPreview to try it."));
        }

        var caller = Caller.From(req.HttpContext);
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
