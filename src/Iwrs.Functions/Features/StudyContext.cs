using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Functions.Auth;
using Iwrs.Functions.Errors;
using Iwrs.Storage.Stores;
using Azure.Data.Tables;

namespace Iwrs.Functions.Features;

/// <summary>
/// What every study endpoint starts from: the study as stored, the caller, what they may see, and the role the
/// action is done as (for the audit trail). Built once per request by <see cref="ResolveAsync(string, StudyAction, string?, HttpContext, CancellationToken, Task{StoredStudy?}?)"/>, the one
/// authorization step of every study-scoped function.
/// </summary>
public sealed record StudyContext(StoredStudy Study, Caller Caller, StudyAccess Access, Role ActingAs, TableClient Table, StudyStore Studies, StudyWrites Writes, RandomizationViews Views, RandomizationQueue Randomizations)
{
    public string StudyId => Study.Configuration.StudyId;

    public bool Unblinded => Access.IsUnblinded || !Study.Configuration.IsBlinded;

    /// <summary>The door the request came in through, recorded on every audit record the action writes.</summary>
    public Channel Channel { get; init; } = Channel.Http;

    /// <summary>
    /// Reads the study and the caller's rights in it and authorizes the action; a refusal is the problem to answer with.
    /// <paramref name="study"/> is the study's read when another read of this request brings it (a randomization's
    /// state range); without it the study is read here.
    /// </summary>
    public static async Task<(StudyContext? Context, IResult? Refusal)> ResolveAsync(
        string studyId, StudyAction action, string? siteId, HttpContext http, CancellationToken ct, Task<StoredStudy?>? study = null)
    {
        var (context, refusal) = await ResolveAsync(studyId, action, siteId, http.RequestServices, Caller.From(http), Channel.Http, ct, study);
        return (context, refusal is null ? null : Problems.From(refusal));
    }

    /// <summary>
    /// The same authorization for any door (HTTP, SMS): the study, the caller's rights in it and the role the action is
    /// done as, or the refusal as a domain error.
    /// </summary>
    public static async Task<(StudyContext? Context, DomainError? Refusal)> ResolveAsync(
        string studyId, StudyAction action, string? siteId, IServiceProvider services, Caller caller, Channel channel, CancellationToken ct, Task<StoredStudy?>? study = null)
    {
        if (!Identifiers.IsValid(studyId))
        {
            return (null, new DomainError("study-not-found", $"There is no study '{Truncate(studyId)}'."));
        }

        var studies = services.GetRequiredService<StudyStore>();
        var rightsTask = services.GetRequiredService<AccessResolver>().ForStudyAsync(caller, studyId, ct);
        var stored = await (study ?? studies.GetAsync(studyId, ct));
        var rights = await rightsTask;

        // Someone with no role in a study learns nothing about it, not even whether it exists.
        if (stored is null || !rights.HasAnyRole)
        {
            return (null, new DomainError("study-not-found", $"There is no study '{studyId}' you hold a role in."));
        }

        var role = rights.Authorize(action, siteId);
        if (!role.IsSuccess)
        {
            return (null, role.Error!);
        }

        var table = await services.GetRequiredService<IwrsTable>().GetAsync(ct);
        return (new StudyContext(stored, caller, rights, role.Value, table, studies, services.GetRequiredService<StudyWrites>(), services.GetRequiredService<RandomizationViews>(), services.GetRequiredService<RandomizationQueue>()) { Channel = channel }, null);
    }

    /// <summary>
    /// For actions on an existing subject: reads the subject first and authorizes at its stored site, never at a
    /// site the caller names. A subject that does not exist is a 404, after authorization, so nobody without a
    /// role learns which subject ids exist.
    /// </summary>
    public static async Task<(StudyContext? Context, SubjectRows.StoredSubject? Subject, IResult? Refusal)> ResolveSubjectAsync(
        string studyId, string subjectId, StudyAction action, HttpContext http, CancellationToken ct)
    {
        var (context, subject, refusal) = await ResolveSubjectAsync(studyId, subjectId, action, http.RequestServices, Caller.From(http), Channel.Http, ct);
        return (context, subject, refusal is null ? null : Problems.From(refusal));
    }

    /// <summary><see cref="ResolveSubjectAsync(string, string, StudyAction, HttpContext, CancellationToken)"/> for any door.</summary>
    public static async Task<(StudyContext? Context, SubjectRows.StoredSubject? Subject, DomainError? Refusal)> ResolveSubjectAsync(
        string studyId, string subjectId, StudyAction action, IServiceProvider services, Caller caller, Channel channel, CancellationToken ct)
    {
        var table = await services.GetRequiredService<IwrsTable>().GetAsync(ct);
        var subject = Identifiers.IsValid(studyId) && Identifiers.IsValid(subjectId) ? await SubjectRows.GetAsync(table, studyId, subjectId, ct) : null;
        var (context, refusal) = await ResolveAsync(studyId, action, subject?.Subject.SiteId, services, caller, channel, ct);
        if (refusal is not null)
        {
            return (null, null, refusal);
        }

        return subject is null
            ? (null, null, new DomainError("subject-not-found", $"There is no subject '{subjectId}' in this study."))
            : (context, subject, null);
    }

    /// <summary>Runs an optimistic write to this study (taking its turn) and answers with the success or the domain failure's problem.</summary>
    public async Task<IResult> WriteAsync<T>(Func<CancellationToken, Task<Result<T>>> attempt, Func<T, IResult> success, CancellationToken ct)
    {
        var result = await Writes.RunAsync(StudyId, attempt, ct);
        return result.IsSuccess ? success(result.Value) : Problems.From(result.Error!);
    }

    private static string Truncate(string value) => value.Length > 64 ? value[..64] + "…" : value;
}
