namespace Iwrs.Domain.Sms;

/// <summary>Where the carrier says an outbound SMS is, from Twilio's status callbacks.</summary>
public enum DeliveryState { Queued, Sent, Delivered, Undelivered, Failed }

/// <summary>
/// Twilio's status callbacks (MessageStatus) mapped to <see cref="DeliveryState"/>. Callbacks can arrive out of order
/// and more than once, so a state only ever moves forward: queued → sent → delivered, undelivered or failed (final).
/// </summary>
public static class DeliveryReports
{
    /// <summary>
    /// Twilio's outbound statuses (https://www.twilio.com/docs/messaging/api/message-resource#message-status-values):
    /// accepted, scheduled, queued and sending count as queued; read (WhatsApp, RCS) as delivered; canceled as failed.
    /// </summary>
    public static bool TryParse(string? status, out DeliveryState state)
    {
        switch (status?.Trim().ToLowerInvariant())
        {
            case "accepted" or "scheduled" or "queued" or "sending":
                state = DeliveryState.Queued;
                return true;
            case "sent":
                state = DeliveryState.Sent;
                return true;
            case "delivered" or "read":
                state = DeliveryState.Delivered;
                return true;
            case "undelivered":
                state = DeliveryState.Undelivered;
                return true;
            case "failed" or "canceled":
                state = DeliveryState.Failed;
                return true;
            default:
                state = default;
                return false;
        }
    }

    public static string Name(DeliveryState state) => state.ToString().ToLowerInvariant();

    /// <summary>Whether a report of <paramref name="next"/> changes a message now at <paramref name="current"/> (null: none yet).</summary>
    public static bool Advances(DeliveryState? current, DeliveryState next) => current is null || Rank(next) > Rank(current.Value);

    private static int Rank(DeliveryState state) => state switch
    {
        DeliveryState.Queued => 0,
        DeliveryState.Sent => 1,
        _ => 2,
    };
}
