using Iwrs.Domain.Access;
using Iwrs.Storage.Stores;
using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Auth;

/// <summary>
/// Loads what a caller may do in a study: their assignments there (one bounded range read) and whether they are
/// an administrator (configured bootstrap administrators, or one point read in the system partition).
/// </summary>
public sealed class AccessResolver(RoleAssignmentStore roles, IOptions<AuthOptions> options)
{
    public async Task<bool> IsAdministratorAsync(Caller caller, CancellationToken ct) =>
        options.Value.BootstrapAdministrators.Contains(caller.UserId, StringComparer.Ordinal) ||
        await roles.IsAdministratorAsync(caller.UserId, ct);

    public async Task<StudyAccess> ForStudyAsync(Caller caller, string studyId, CancellationToken ct)
    {
        var admin = IsAdministratorAsync(caller, ct);
        var held = await roles.ForUserAsync(studyId, caller.UserId, ct);
        return new StudyAccess(caller.UserId, studyId, held.Select(h => h.Assignment).ToList(), await admin);
    }
}
