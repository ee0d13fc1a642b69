using System.Net;
using Azure.Core;

namespace Iwrs.Storage.Tables;

/// <summary>
/// Where the Table service is and how to authorize against it. Built from a connection string
/// (https://learn.microsoft.com/azure/storage/common/storage-configure-connection-string) for Shared Key, or from an
/// endpoint and a <see cref="TokenCredential"/> for Microsoft Entra (managed identity in Azure).
/// The key is held only inside the signer; nothing here ever prints it.
/// </summary>
public sealed class TableStorageAccount
{
    /// <summary>The emulator's published account and key (not a secret): https://learn.microsoft.com/azure/storage/common/storage-use-azurite#http-connection-strings</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";

    internal const string DevelopmentAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly Uri DevelopmentTableEndpoint = new("http://127.0.0.1:10002/devstoreaccount1");

    // Settings that may appear in a storage connection string but concern other services; accepted and ignored.
    private static readonly HashSet<string> OtherServiceSettings = new(StringComparer.OrdinalIgnoreCase)
    {
        "BlobEndpoint", "QueueEndpoint", "FileEndpoint", "BlobSecondaryEndpoint", "QueueSecondaryEndpoint",
        "FileSecondaryEndpoint", "TableSecondaryEndpoint",
    };

    private static readonly HashSet<string> KnownSettings = new(StringComparer.OrdinalIgnoreCase)
    {
        "UseDevelopmentStorage", "DevelopmentStorageProxyUri", "DefaultEndpointsProtocol", "AccountName", "AccountKey",
        "EndpointSuffix", "TableEndpoint", "SharedAccessSignature",
    };

    private TableStorageAccount(Uri tableEndpoint, string accountName, TableRequestAuthorizer authorizer)
    {
        // One canonical form without a trailing slash, so resource paths are appended as "/{resource}".
        TableEndpoint = new Uri(tableEndpoint.AbsoluteUri.TrimEnd('/'));
        AccountName = accountName;
        Authorizer = authorizer;
    }

    public Uri TableEndpoint { get; }

    public string AccountName { get; }

    public bool UsesSharedKey => Authorizer is SharedKeyLiteSigner;

    internal TableRequestAuthorizer Authorizer { get; }

    /// <summary>The endpoint as a string without a trailing slash, the base every request URL is built on.</summary>
    internal string BaseUrl => TableEndpoint.AbsoluteUri.TrimEnd('/');

    /// <summary>
    /// Parses <c>UseDevelopmentStorage=true</c>; <c>DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…;EndpointSuffix=…</c>;
    /// or an explicit <c>TableEndpoint=…</c> (with or without AccountName/AccountKey). When the endpoint's host is an IP
    /// address or <c>localhost</c> the URL is path-style and the account name is its first path segment. An explicit
    /// endpoint on loopback for <c>devstoreaccount1</c> without a key uses the emulator's published key.
    /// Throws <see cref="FormatException"/> listing every problem; the message never contains the key.
    /// </summary>
    public static TableStorageAccount Parse(string connectionString)
    {
        var errors = new List<string>();
        var settings = Split(connectionString, errors);

        if (settings.TryGetValue("UseDevelopmentStorage", out var useDev))
        {
            if (!string.Equals(useDev, "true", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add("UseDevelopmentStorage must be 'true' when present.");
            }

            if (settings.ContainsKey("DevelopmentStorageProxyUri"))
            {
                errors.Add("DevelopmentStorageProxyUri is not supported.");
            }

            foreach (var name in settings.Keys.Where(k => !k.Equals("UseDevelopmentStorage", StringComparison.OrdinalIgnoreCase)
                                                            && !k.Equals("DevelopmentStorageProxyUri", StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add($"'{name}' cannot be combined with UseDevelopmentStorage.");
            }

            ThrowIfAny(errors);
            return Emulator(DevelopmentTableEndpoint);
        }

        if (settings.ContainsKey("SharedAccessSignature"))
        {
            errors.Add("SharedAccessSignature is not supported; use an account key or a managed identity.");
        }

        if (settings.ContainsKey("DevelopmentStorageProxyUri"))
        {
            errors.Add("DevelopmentStorageProxyUri is only meaningful with UseDevelopmentStorage=true.");
        }

        settings.TryGetValue("AccountName", out var accountName);
        settings.TryGetValue("AccountKey", out var accountKey);
        Uri? endpoint = null;

        if (settings.TryGetValue("TableEndpoint", out var tableEndpoint))
        {
            // An explicit endpoint wins over DefaultEndpointsProtocol/EndpointSuffix, which portal strings carry too.
            endpoint = ParseEndpoint(tableEndpoint, "TableEndpoint", errors);
            if (endpoint is not null)
            {
                var fromEndpoint = AccountNameFromEndpoint(endpoint);
                if (accountName is null)
                {
                    accountName = fromEndpoint;
                    if (accountName is null)
                    {
                        errors.Add("AccountName is missing and cannot be read from TableEndpoint.");
                    }
                }
                else if (IsPathStyleHost(endpoint) && fromEndpoint is not null
                         && !string.Equals(fromEndpoint, accountName, StringComparison.Ordinal))
                {
                    errors.Add($"AccountName '{accountName}' does not match the account in TableEndpoint's path ('{fromEndpoint}').");
                }

                if (accountKey is null && accountName == DevelopmentAccountName && IsLoopback(endpoint))
                {
                    accountKey = DevelopmentAccountKey;
                }
            }
        }
        else
        {
            if (accountName is null)
            {
                errors.Add("AccountName is missing (or give TableEndpoint, or UseDevelopmentStorage=true).");
            }

            var protocol = settings.GetValueOrDefault("DefaultEndpointsProtocol") ?? "https";
            if (protocol is not ("http" or "https"))
            {
                errors.Add("DefaultEndpointsProtocol must be 'http' or 'https'.");
            }

            var suffix = settings.GetValueOrDefault("EndpointSuffix") ?? "core.windows.net";
            if (suffix.Length == 0 || Uri.CheckHostName(suffix) != UriHostNameType.Dns)
            {
                errors.Add("EndpointSuffix must be a DNS name such as 'core.windows.net'.");
            }

            if (accountName is not null && !IsValidAccountName(accountName))
            {
                errors.Add("AccountName must be 3-24 lowercase letters or digits.");
            }

            if (errors.Count == 0)
            {
                endpoint = new Uri($"{protocol}://{accountName}.table.{suffix}");
            }
        }

        byte[]? key = null;
        if (accountKey is null)
        {
            errors.Add("AccountKey is missing.");
        }
        else
        {
            key = DecodeKey(accountKey, errors);
        }

        ThrowIfAny(errors);
        return new TableStorageAccount(endpoint!, accountName!, new SharedKeyLiteSigner(accountName!, key!));
    }

    /// <summary>
    /// Microsoft Entra authorization: <c>Authorization: Bearer</c> with a token for <c>https://storage.azure.com/.default</c>
    /// from <paramref name="credential"/>, cached until 5 minutes before it expires. Requires HTTPS except on loopback,
    /// because a bearer token sent in clear text is as good as the identity.
    /// </summary>
    public static TableStorageAccount ForTokenCredential(Uri tableEndpoint, TokenCredential credential)
    {
        ArgumentNullException.ThrowIfNull(tableEndpoint);
        ArgumentNullException.ThrowIfNull(credential);
        var errors = new List<string>();
        var endpoint = ParseEndpoint(tableEndpoint.OriginalString, nameof(tableEndpoint), errors);
        if (endpoint is not null && endpoint.Scheme != Uri.UriSchemeHttps && !IsLoopback(endpoint))
        {
            errors.Add("A bearer token must only be sent over https.");
        }

        var accountName = endpoint is null ? null : AccountNameFromEndpoint(endpoint);
        if (endpoint is not null && accountName is null)
        {
            errors.Add("The account name cannot be read from the endpoint.");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid table endpoint: " + string.Join(" ", errors), nameof(tableEndpoint));
        }

        return new TableStorageAccount(endpoint!, accountName!, new BearerTokenAuthorizer(credential));
    }

    public override string ToString() => $"{AccountName} at {TableEndpoint} ({(UsesSharedKey ? "shared key" : "bearer token")})";

    private static TableStorageAccount Emulator(Uri endpoint) =>
        new(endpoint, DevelopmentAccountName,
            new SharedKeyLiteSigner(DevelopmentAccountName, Convert.FromBase64String(DevelopmentAccountKey)));

    private static Dictionary<string, string> Split(string? connectionString, List<string> errors)
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            errors.Add("The connection string is empty.");
            ThrowIfAny(errors);
            return settings;
        }

        var segments = connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (var i = 0; i < segments.Length; i++)
        {
            // Split at the first '=' only: base64 keys end in '='. Segment text is never echoed, it may be a key.
            var eq = segments[i].IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                errors.Add($"Segment {i + 1} is not a 'Name=value' pair.");
                continue;
            }

            var name = segments[i][..eq].Trim();
            var value = segments[i][(eq + 1)..].Trim();
            if (OtherServiceSettings.Contains(name))
            {
                continue;
            }

            if (!KnownSettings.Contains(name))
            {
                // Show a misspelt name, but not something that may be a stray key ("…;<key>==" splits at its padding):
                // setting names are short and letters only, account keys are 88 base64 characters.
                errors.Add(name.Length <= 32 && name.All(char.IsAsciiLetter)
                    ? $"'{name}' is not a recognised setting."
                    : $"Segment {i + 1} does not start with a recognised setting name.");
                continue;
            }

            if (value.Length == 0)
            {
                errors.Add($"{name} has no value.");
                continue;
            }

            if (!settings.TryAdd(name, value))
            {
                errors.Add($"{name} is given more than once.");
            }
        }

        return settings;
    }

    private static Uri? ParseEndpoint(string text, string settingName, List<string> errors)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"{settingName} must be an absolute http or https URL.");
            return null;
        }

        if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            errors.Add($"{settingName} must not have a query, fragment or user info.");
            return null;
        }

        if (IsPathStyleHost(uri) && FirstPathSegment(uri) is null)
        {
            errors.Add($"{settingName} on an IP address or localhost must name the account as its first path segment (e.g. http://127.0.0.1:10002/devstoreaccount1).");
            return null;
        }

        return uri;
    }

    /// <summary>Path-style (IP or localhost host): the first path segment. Otherwise the first label of the host name.</summary>
    internal static string? AccountNameFromEndpoint(Uri endpoint)
    {
        if (IsPathStyleHost(endpoint))
        {
            return FirstPathSegment(endpoint);
        }

        var host = endpoint.IdnHost;
        var dot = host.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 ? host[..dot] : FirstPathSegment(endpoint);
    }

    private static bool IsPathStyleHost(Uri uri) =>
        uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6
        || string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase);

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host, out var ip) && IPAddress.IsLoopback(ip));

    private static string? FirstPathSegment(Uri uri)
    {
        var segment = uri.AbsolutePath.Trim('/').Split('/')[0];
        return segment.Length == 0 ? null : Uri.UnescapeDataString(segment);
    }

    private static bool IsValidAccountName(string name) =>
        name.Length is >= 3 and <= 24 && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c));

    private static byte[]? DecodeKey(string accountKey, List<string> errors)
    {
        var buffer = new byte[accountKey.Length];
        if (!Convert.TryFromBase64String(accountKey, buffer, out var written) || written == 0)
        {
            errors.Add("AccountKey is not valid base64.");
            return null;
        }

        return buffer[..written];
    }

    private static void ThrowIfAny(List<string> errors)
    {
        if (errors.Count > 0)
        {
            throw new FormatException("Invalid table storage connection string: " + string.Join(" ", errors));
        }
    }
}
