namespace Iwrs.Storage.Tables;

/// <summary>
/// The one exception the table client throws for a request the service refused or could not serve. It carries the
/// HTTP status and the service's error code (<c>x-ms-error-code</c>, or <c>odata.error.code</c> from the body) so
/// callers branch on those rather than on message text. Expected outcomes are not exceptions: a missing entity on a
/// point read, an existing table on create, a missing entity on delete are return values.
/// Messages never contain account keys or tokens.
/// </summary>
/// <remarks>Error codes: https://learn.microsoft.com/rest/api/storageservices/table-service-error-codes</remarks>
public class TableStorageException : Exception
{
    public TableStorageException()
    {
    }

    public TableStorageException(string message)
        : base(message)
    {
    }

    public TableStorageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public TableStorageException(string message, int? status, string? errorCode, Exception? innerException = null)
        : base(message, innerException)
    {
        Status = status;
        ErrorCode = errorCode;
    }

    /// <summary>The HTTP status the service answered with; null when no answer arrived.</summary>
    public int? Status { get; }

    /// <summary>The service's error code, e.g. <c>EntityAlreadyExists</c>, <c>UpdateConditionNotSatisfied</c>.</summary>
    public string? ErrorCode { get; }

    /// <summary>The service's <c>x-ms-request-id</c>, for support cases.</summary>
    public string? RequestId { get; init; }
}

/// <summary>
/// An entity-group transaction was refused as a whole: nothing in it was applied. <see cref="FailedActionIndex"/> is
/// the 0-based position of the action the service blamed (it prefixes its message with that index), or -1 when the
/// answer did not say.
/// </summary>
/// <remarks>https://learn.microsoft.com/rest/api/storageservices/performing-entity-group-transactions#sample-error-response</remarks>
public sealed class TableTransactionFailedException : TableStorageException
{
    public TableTransactionFailedException()
    {
        FailedActionIndex = -1;
    }

    public TableTransactionFailedException(string message)
        : base(message)
    {
        FailedActionIndex = -1;
    }

    public TableTransactionFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
        FailedActionIndex = -1;
    }

    public TableTransactionFailedException(string message, int failedActionIndex, int? status, string? errorCode)
        : base(message, status, errorCode)
    {
        FailedActionIndex = failedActionIndex;
    }

    /// <summary>0-based index into the submitted actions; -1 when the service's answer did not identify one.</summary>
    public int FailedActionIndex { get; }
}

/// <summary>
/// Storage could not be reached or kept failing after the configured retries: a transport failure (connection refused,
/// DNS, timeout) or a 408/429/5xx answer that persisted. <see cref="TableStorageException.Status"/> is the last
/// answer's status, or null when no answer arrived. The operation may or may not have been applied.
/// </summary>
public sealed class StorageUnavailableException : TableStorageException
{
    public StorageUnavailableException()
    {
    }

    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    public StorageUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public StorageUnavailableException(string message, int? status, string? errorCode, Exception? innerException = null)
        : base(message, status, errorCode, innerException)
    {
    }
}
