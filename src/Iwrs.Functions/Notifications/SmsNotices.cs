using System.Globalization;
using Iwrs.Domain.Notifications;
using Iwrs.Storage.Stores;

namespace Iwrs.Functions.Notifications;

/// <summary>
/// Queues SMS notices in the outbox, inside the transaction of the event they tell about, so an event and its
/// notices are written together or not at all. <see cref="NotificationDispatch"/> sends them later.
/// </summary>
public static class SmsNotices
{
    /// <summary>An SMS body is at most 1,600 characters.</summary>
    public const int MaxLength = 1600;

    /// <summary>
    /// Queues one SMS per recipient in the event's own transaction. Ids derive from the audit sequence, so the
    /// same event can never queue twice. Each keeps its recipient's role, which is all a log line says about whom it was
    /// for, and no number: it goes to the phone the recipient verified, looked up when it is sent.
    /// </summary>
    public static void Queue(StudyChange actions, string partition, long sequence, IEnumerable<NoticeRecipient> recipients, string text, string eventName, DateTimeOffset now, int offset = 0)
    {
        var i = offset;
        foreach (var (role, userId) in recipients)
        {
            var id = $"{sequence.ToString("D12", CultureInfo.InvariantCulture)}-{i++}";
            var notification = Notification.ToOwnPhone(id, userId, Shorten(text), eventName, role);
            if (notification.IsSuccess)
            {
                Outbox.Add(actions, partition, notification.Value, now);
            }
        }
    }

    /// <summary>Cuts a text to <see cref="MaxLength"/> without splitting a surrogate pair.</summary>
    private static string Shorten(string text)
    {
        if (text.Length <= MaxLength)
        {
            return text;
        }

        var cut = char.IsHighSurrogate(text[MaxLength - 4]) ? MaxLength - 4 : MaxLength - 3;
        return text[..cut] + "...";
    }
}
