using Iwrs.Storage.Stores;

namespace Iwrs.Functions.Features.Sms;

/// <summary>A registered SMS sender: the one user a phone belongs to, and their role assignments that name it, by study.</summary>
public sealed record SmsSender(string UserId, string Phone, IReadOnlyList<StoredRoleAssignment> Assignments)
{
    /// <summary>The studies the sender holds a role in with this phone, in id order.</summary>
    public IReadOnlyList<string> Studies => [.. Assignments.Select(a => a.Assignment.StudyId!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
}

/// <summary>
/// Which user a phone number is: the phone numbers on role assignments (E.164, given when a role is granted). One
/// range read of role rows per study, so an inbound SMS costs as many reads as the deployment has studies; a number
/// on assignments of two different users belongs to neither (it is answered as unknown).
/// </summary>
public sealed class RegisteredPhones(RoleAssignmentStore roles)
{
    public async Task<SmsSender?> FindAsync(string phone, CancellationToken ct)
    {
        var held = (await roles.InEveryStudyAsync(null, ct)).Where(a => a.Phone == phone && a.Assignment.StudyId is not null).ToList();
        var users = held.Select(a => a.Assignment.UserId).Distinct(StringComparer.Ordinal).ToList();
        return users.Count == 1 ? new SmsSender(users[0], phone, held) : null;
    }
}
