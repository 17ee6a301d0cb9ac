/** Register offsets and bit names of the PC16550D (datasheet numbering). */

export const R_RBR: u32 = 0; // THR on write, DLL with DLAB
export const R_IER: u32 = 1; // DLM with DLAB
export const R_IIR: u32 = 2; // FCR on write
export const R_LCR: u32 = 3;
export const R_MCR: u32 = 4;
export const R_LSR: u32 = 5;
export const R_MSR: u32 = 6;
export const R_SCR: u32 = 7;

export const IER_RDI: u8 = 0x01;
export const IER_THRI: u8 = 0x02;
export const IER_RLSI: u8 = 0x04;
export const IER_MSI: u8 = 0x08;

export const IIR_NONE: u8 = 0x01;
export const IIR_MSI: u8 = 0x00;
export const IIR_THRI: u8 = 0x02;
export const IIR_RDI: u8 = 0x04;
export const IIR_RLSI: u8 = 0x06;
export const IIR_CTI: u8 = 0x0c;
export const IIR_FIFO: u8 = 0xc0;

export const FCR_ENABLE: u8 = 0x01;
export const FCR_CLEAR_RX: u8 = 0x02;
export const FCR_CLEAR_TX: u8 = 0x04;
export const FCR_DMA: u8 = 0x08;
export const FCR_TRIGGER: u8 = 0xc0;

export const LCR_WLEN: u8 = 0x03;
export const LCR_STOP: u8 = 0x04;
export const LCR_PARITY: u8 = 0x08;
export const LCR_EPAR: u8 = 0x10;
export const LCR_SPAR: u8 = 0x20;
export const LCR_SBC: u8 = 0x40;
export const LCR_DLAB: u8 = 0x80;

export const MCR_DTR: u8 = 0x01;
export const MCR_RTS: u8 = 0x02;
export const MCR_OUT1: u8 = 0x04;
export const MCR_OUT2: u8 = 0x08;
export const MCR_LOOP: u8 = 0x10;
export const MCR_AFE: u8 = 0x20; // not a PC16550D bit; the mtty sample tests it in MSR

export const LSR_DR: u8 = 0x01;
export const LSR_OE: u8 = 0x02;
export const LSR_PE: u8 = 0x04;
export const LSR_FE: u8 = 0x08;
export const LSR_BI: u8 = 0x10;
export const LSR_THRE: u8 = 0x20;
export const LSR_TEMT: u8 = 0x40;
export const LSR_FIFOERR: u8 = 0x80;
export const LSR_ERRORS: u8 = 0x1e;

export const MSR_DCTS: u8 = 0x01;
export const MSR_DDSR: u8 = 0x02;
export const MSR_TERI: u8 = 0x04;
export const MSR_DDCD: u8 = 0x08;
export const MSR_CTS: u8 = 0x10;
export const MSR_DSR: u8 = 0x20;
export const MSR_RI: u8 = 0x40;
export const MSR_DCD: u8 = 0x80;
