using Iwrs.Domain.Access;
using Iwrs.Storage.Stores;

namespace Iwrs.Functions.Notifications;

/// <summary>A person a notice is for, in the role they get it in; where it goes is looked up when it is sent.</summary>
public readonly record struct NoticeRecipient(Role Role, string UserId);

/// <summary>
/// Who an event's SMS notices are for: holders of the roles it concerns, as people, never as numbers. Each notice goes
/// to the phone its recipient registered and verified themselves, looked up when it is sent
/// (<see cref="NotificationDispatch"/>), so whoever grants a role cannot route a notice to a phone of their choosing.
/// A holder with no verified phone still gets the notice queued, and its skip recorded when it would be sent.
/// </summary>
public sealed class NoticeRecipients(RoleAssignmentStore roles, IwrsTable table)
{
    /// <summary>Each notice is two rows in its event's transaction (100 operations at most, a shipment's kits take most): a few recipients only.</summary>
    public const int MaxPerEvent = 6;

    /// <summary>
    /// Up to <paramref name="max"/> holders of roles in <paramref name="studyId"/> that <paramref name="who"/> picks. When
    /// more hold them, those with a verified phone now come first (two point reads each), so that holders who could not
    /// receive the notice do not take the places of those who can.
    /// </summary>
    public async Task<IReadOnlyList<NoticeRecipient>> InStudyAsync(string studyId, Func<RoleAssignment, bool> who, int max, CancellationToken ct)
    {
        var holders = (await roles.AllAsync(studyId, ct)).Select(a => a.Assignment).Where(who)
            .Select(a => new NoticeRecipient(a.Role, a.UserId)).Distinct().ToList();
        if (holders.Count <= max)
        {
            return holders;
        }

        var client = await table.GetAsync(ct);
        var phones = await Task.WhenAll(holders.Select(h => SmsRows.VerifiedPhoneAsync(client, h.UserId, ct)));
        return [.. holders.Select((h, i) => (Holder: h, Reachable: phones[i] is not null)).OrderByDescending(x => x.Reachable).Take(max).Select(x => x.Holder)];
    }
}
