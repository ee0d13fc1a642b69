using Iwrs.Storage.Stores;

namespace Iwrs.Functions.Features.Sms;

/// <summary>A registered SMS sender: the user whose verified phone it is, and the studies they may hold a role in.</summary>
public sealed record SmsSender(string UserId, string Phone, IReadOnlyList<string> Studies);

/// <summary>
/// Which user a phone number is: only the user who registered it and typed back the code it was sent
/// (<see cref="SmsPhoneLedger"/>). A phone on a role grant is where notices go, never who sends. One point read of the
/// phone's owner row and one range read of the owner's study index, however many studies and users there are.
/// </summary>
public sealed class RegisteredPhones(IwrsTable table, RoleAssignmentStore roles)
{
    public async Task<SmsSender?> FindAsync(string phone, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        if (await SmsRows.GetOwnerAsync(client, phone, ct) is not { } userId)
        {
            return null;
        }

        var studies = (await roles.StudiesOfAsync(userId, ct)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return new SmsSender(userId, phone, studies);
    }
}
