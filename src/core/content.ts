// What a content item is, as every layer speaks of it.

/** One content item of one interaction: what the API's DELETE path names. */
export interface ContentRef {
  guid: string;
  contentKey: string;
}

/**
 * What is known of one content item before it is deleted (from the interaction's listing). Every
 * field may be missing: the API does not always give them, and unknown stays unknown.
 */
export interface ContentPreview {
  type?: string;
  contentType?: string;
  contentLength?: number;
  lastModified?: string;
}

/** One thing that would be deleted. */
export interface ConfirmationItem extends ContentRef {
  /** Absent when the listing could not be read (no read scope, network): say so to the person. */
  preview?: ContentPreview;
}
