using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Functions.Auth;
using Iwrs.Functions.Errors;
using Iwrs.Storage.Stores;
using Azure.Data.Tables;

namespace Iwrs.Functions.Features;

/// <summary>
/// What every study endpoint starts from: the study as stored, the caller, what they may see, and the role the
/// action is done as (for the audit trail). Built once per request by <see cref="ResolveAsync"/>.
/// </summary>
public sealed record StudyContext(StoredStudy Study, Caller Caller, StudyAccess Access, Role ActingAs, TableClient Table, StudyStore Studies, StudyWrites Writes)
{
    public string StudyId => Study.Configuration.StudyId;

    public bool Unblinded => Access.IsUnblinded || !Study.Configuration.IsBlinded;

    public static async Task<(StudyContext? Context, IResult? Refusal)> ResolveAsync(
        string studyId, StudyAction action, string? siteId, HttpContext http, CancellationToken ct)
    {
        var services = http.RequestServices;
        var (study, access, refusal) = await StudyFunctions.Authorize(
            studyId, action, siteId, http, services.GetRequiredService<StudyStore>(), services.GetRequiredService<AccessResolver>(), ct);
        if (refusal is not null)
        {
            return (null, refusal);
        }

        var role = access!.Authorize(action, siteId).Value;
        var table = await services.GetRequiredService<IwrsTable>().GetAsync(ct);
        return (new StudyContext(study!, Caller.From(http), access, role, table, services.GetRequiredService<StudyStore>(), services.GetRequiredService<StudyWrites>()), null);
    }
}

public static class ResultProblems
{
    /// <summary>Runs an optimistic write and turns a domain failure into its problem.</summary>
    public static async Task<IResult> WriteAsync<T>(StudyContext context, Func<CancellationToken, Task<Result<T>>> attempt, Func<T, IResult> success, CancellationToken ct)
    {
        var result = await context.Writes.RunAsync(context.StudyId, attempt, ct);
        return result.IsSuccess ? success(result.Value) : Problems.From(result.Error!);
    }
}
