/* replaced by the io layer */ typedef int xgw_io_placeholder;
