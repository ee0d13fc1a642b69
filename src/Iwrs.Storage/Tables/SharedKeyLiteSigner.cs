using System.Security.Cryptography;
using System.Text;

namespace Iwrs.Storage.Tables;

/// <summary>
/// Shared Key Lite for the Table service, version 2009-09-19 and later:
/// https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key#shared-key-lite-and-table-service-format-for-2009-09-19-and-later
/// <code>
/// StringToSign = x-ms-date + "\n" + CanonicalizedResource
/// CanonicalizedResource = "/" + account + URI path as sent (still URL-encoded) [+ "?comp=" + value, the only query parameter that counts]
/// Authorization = "SharedKeyLite " + account + ":" + Base64(HMAC-SHA256(Base64Decode(key), UTF8(StringToSign)))
/// </code>
/// Against the emulator's path-style URL the account name is also the first path segment, so it appears twice
/// (<c>/devstoreaccount1/devstoreaccount1/mytable</c>). The date comes from the request's <c>x-ms-date</c> header, which
/// the transport sets from the injected TimeProvider; this class never reads a clock.
/// </summary>
internal sealed class SharedKeyLiteSigner : TableRequestAuthorizer
{
    private readonly string _accountName;
    private readonly byte[] _key;

    public SharedKeyLiteSigner(string accountName, byte[] key)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        ArgumentNullException.ThrowIfNull(key);
        _accountName = accountName;
        _key = key.ToArray();
    }

    public static string StringToSign(string xMsDate, string accountName, Uri requestUri) =>
        xMsDate + "\n" + CanonicalizedResource(accountName, requestUri);

    public static string CanonicalizedResource(string accountName, Uri requestUri)
    {
        // AbsolutePath keeps the percent-encoding the request goes out with, which is what the service signs.
        var resource = "/" + accountName + requestUri.AbsolutePath;
        var comp = QueryParameter(requestUri, "comp");
        return comp is null ? resource : resource + "?comp=" + comp;
    }

    public string Sign(string stringToSign) =>
        Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(stringToSign)));

    public override ValueTask AuthorizeAsync(HttpRequestMessage request, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
        if (!request.Headers.TryGetValues(TableTransport.DateHeader, out var dates))
        {
            throw new InvalidOperationException("x-ms-date must be set before the request is signed.");
        }

        var signature = Sign(StringToSign(dates.Single(), _accountName, uri));
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", "SharedKeyLite " + _accountName + ":" + signature);
        return ValueTask.CompletedTask;
    }

    private static string? QueryParameter(Uri uri, string name)
    {
        var query = uri.Query.TrimStart('?');
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? pair : pair[..eq];
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return eq < 0 ? string.Empty : pair[(eq + 1)..];
            }
        }

        return null;
    }
}
